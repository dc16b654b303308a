"""Bearer tokens for Microsoft Entra-protected webhooks (docs/entra.md, "Protected webhooks").

Event Grid, delivering to a WebHook destination that names `azureActiveDirectoryTenantId` and
`azureActiveDirectoryApplicationIdOrUri`, gets an app-only token for that application from the tenant and sends it as
`Authorization: Bearer …` on every request, the validation handshake included (Microsoft Learn,
"secure-webhook-delivery"). The token is Event Grid's own: `azp`/`appid` is Event Grid's first-party application,
`roles` holds the app role the webhook's application grants it, `aud` is the webhook's application.

smsgrid signs it with its offline issuer's key (the one `tokens.sign` uses for every token), so a receiver checks it
against smsgrid's JWKS exactly as it would check Entra's. The one difference: `iss` names smsgrid's issuer
(`https://<smsgrid>/{tenant}/v2.0`), where Azure's is `https://login.microsoftonline.com/{tenant}/v2.0`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from smsgrid.entra import tokens
from smsgrid.entra.issuer import EntraIssuer

# Event Grid's first-party application id, the client of every token it sends (secure-webhook-delivery).
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
# The app role the webhook's application creates and assigns to Event Grid (secure-webhook-delivery, step 2).
SECURE_WEBHOOK_ROLE = "AzureEventGridSecureWebhookSubscriber"
# A cached token is replaced this long before it expires, so none arrives expired at a receiver whose clock is
# a little ahead (azure-identity refreshes at five minutes too).
REFRESH_MARGIN_SECONDS = 5 * 60


def webhook_token_claims(*, issuer: str, tenant_id: str, audience: str, now: int) -> dict[str, Any]:
    """The claims of the token Event Grid presents to a protected webhook: an app-only v2.0 access token for
    Event Grid's application, for the webhook's application (`audience`), with the subscriber role."""
    claims = tokens.access_token_claims(
        issuer=issuer, tenant_id=tenant_id, client_id=EVENT_GRID_APP_ID, audience=audience, now=now
    )
    claims["roles"] = [SECURE_WEBHOOK_ROLE]
    return claims


class WebhookTokens:
    """Tokens for protected webhooks, one per audience, reused until five minutes before they expire."""

    def __init__(self, issuer: EntraIssuer, issuer_base_url: str, *, now: Callable[[], float] = time.time) -> None:
        self.issuer = issuer
        self.issuer_base_url = issuer_base_url.rstrip("/")
        self._now = now
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    @property
    def issuer_url(self) -> str:
        return tokens.issuer_url(self.issuer_base_url, self.issuer.tenant_id)

    async def bearer(self, audience: str) -> str:
        """The `Authorization` header value for a webhook whose application is `audience` (its id or URI, as the
        subscription names it: Entra puts the requested resource in `aud` unchanged)."""
        return f"Bearer {await self.token(audience)}"

    async def token(self, audience: str) -> str:
        key = (self.issuer.tenant_id, audience)
        cached = self._cache.get(key)
        if cached is not None and self._now() < cached[1] - REFRESH_MARGIN_SECONDS:
            return cached[0]
        async with self._lock:
            cached = self._cache.get(key)
            now = self._now()
            if cached is not None and now < cached[1] - REFRESH_MARGIN_SECONDS:
                return cached[0]
            claims = webhook_token_claims(
                issuer=self.issuer_url, tenant_id=self.issuer.tenant_id, audience=audience, now=int(now)
            )
            token = tokens.sign(claims, await self.issuer.signing_key())
            self._cache[key] = (token, float(claims["exp"]))
            return token
