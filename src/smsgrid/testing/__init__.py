"""Test helpers for applications built on ACS SMS: a real smsgrid process, a webhook sink, waiting for events.

Used by smsgrid's own tests and offered to users as a pytest plugin (`smsgrid.testing.plugin`).
"""

from smsgrid.testing.process import SmsgridProcess, free_port, start_smsgrid
from smsgrid.testing.webhook_sink import ReceivedRequest, WebhookSink

__all__ = ["ReceivedRequest", "SmsgridProcess", "WebhookSink", "free_port", "start_smsgrid"]
