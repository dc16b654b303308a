"""`devtools_testutils.fake_credentials_async` of the live-mode stand-in (playback only, see fake_credentials)."""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AccessToken


class AsyncFakeCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise RuntimeError("AsyncFakeCredential is for playback, which this stand-in does not run")
