"""Fixtures shared by every test folder (the smsgrid pytest plugin brings the server fixtures itself)."""

import os

from tests.postgres_support import postgres_cluster

# Every smsgrid these tests start inherits this: they send far more than ACS's 200 messages a minute from one
# number, to test the engine. The tests of throttling itself turn it back on (start_smsgrid(throttling=True)).
os.environ.setdefault("SMSGRID_THROTTLING", "off")

__all__ = ["postgres_cluster"]
