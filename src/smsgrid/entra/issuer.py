"""The offline Entra ID issuer of one smsgrid: its applications, its signing key, its documents and tokens."""

from __future__ import annotations

import asyncio
import hmac
import time
from pathlib import Path
from typing import Any

from smsgrid.config import EntraApplication, EntraSettings
from smsgrid.entra import keys, tokens
from smsgrid.entra.errors import AadstsError

# The audiences the SDKs' scopes yield: azure-communication-sms asks for `https://communication.azure.com//.default`,
# azure-eventgrid for `https://eventgrid.azure.net/.default` (their auth policies).
COMMUNICATION_AUDIENCE = "https://communication.azure.com"
EVENT_GRID_AUDIENCE = "https://eventgrid.azure.net"
CLAIMS_SUPPORTED: tuple[str, ...] = ("aud", "iss", "iat", "nbf", "exp", "azp", "azpacr", "appid", "appidacr", "idp")
CLAIMS_SUPPORTED += ("idtyp", "oid", "sub", "tid", "uti", "ver")


class EntraIssuer:
    def __init__(self, settings: EntraSettings, data_dir: Path) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self._key: keys.SigningKey | None = None
        self._key_lock = asyncio.Lock()

    @property
    def tenant_id(self) -> str:
        return self.settings.tenant_id

    def knows_tenant(self, tenant: str) -> bool:
        return tenant.lower() == self.tenant_id

    async def signing_key(self) -> keys.SigningKey:
        """Loaded (or made, in a thread: RSA generation takes a while) at first use, so a server that never
        sees Entra never pays for it."""
        if self._key is None:
            async with self._key_lock:
                if self._key is None:
                    self._key = await asyncio.to_thread(keys.load_or_create, self.data_dir)
        return self._key

    # ----------------------------------------------------------------------------------------- documents

    def openid_configuration(self, base_url: str) -> dict[str, Any]:
        """The tenant's OpenID Provider Metadata. MSAL reads `token_endpoint` and `authorization_endpoint` (both
        required) and `issuer`; validators read `jwks_uri`. Endpoint paths are Entra's v2.0 ones."""
        base = base_url.rstrip("/")
        tenant = self.tenant_id
        issuer = tokens.issuer_url(base, tenant)
        return {
            "issuer": issuer,
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": [],  # no user sign-in: nothing is answered at the authorization endpoint
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": list(CLAIMS_SUPPORTED),
            "request_uri_parameter_supported": False,
        }

    async def jwks(self) -> dict[str, Any]:
        return {"keys": [(await self.signing_key()).jwk()]}

    # -------------------------------------------------------------------------------------------- tokens

    def authenticate(self, client_id: str, client_secret: str | None) -> EntraApplication:
        app = next((a for a in self.settings.applications if a.client_id == client_id.lower()), None)
        if app is None:
            raise AadstsError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{self.tenant_id}'. "
                "Register it under [[entra.applications]] (docs/entra.md).",
            )
        if not client_secret:
            raise AadstsError(
                401,
                "invalid_client",
                7000216,
                "'client_secret' is required for the 'client_credentials' grant type (this issuer accepts client "
                "secrets only, no certificates or assertions).",
            )
        if not hmac.compare_digest(client_secret.encode(), app.client_secret.encode()):
            raise AadstsError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value configured for app '{client_id}' in [[entra.applications]].",
            )
        return app

    async def issue(self, *, base_url: str, app: EntraApplication, audience: str) -> tuple[str, int]:
        """A signed access token for `app` and `audience`, and its lifetime in seconds."""
        now = int(time.time())
        claims = tokens.access_token_claims(
            issuer=tokens.issuer_url(base_url, self.tenant_id),
            tenant_id=self.tenant_id,
            client_id=app.client_id,
            audience=audience,
            now=now,
        )
        return tokens.sign(claims, await self.signing_key()), claims["exp"] - now

    async def check_bearer(self, token: str, audience: str) -> str | None:
        """None when `token` is a live token of this issuer for `audience`; otherwise why not."""
        verdict = tokens.verify_access_token(
            token, key=await self.signing_key(), tenant_id=self.tenant_id, audience=audience, now=time.time()
        )
        return verdict.reason if isinstance(verdict, tokens.TokenRejected) else None
