"""`devtools_testutils.fake_credentials` of the live-mode stand-in. The suite uses the fake only in playback,
which the stand-in refuses, so it is never asked for a token against smsgrid."""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AccessToken


class FakeTokenCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise RuntimeError("FakeTokenCredential is for playback, which this stand-in does not run")
