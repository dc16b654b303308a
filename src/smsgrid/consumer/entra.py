"""Check the Microsoft Entra bearer token Event Grid sends to a protected webhook (docs/consumer.md).

A subscription whose WebHook destination names `azureActiveDirectoryTenantId` and
`azureActiveDirectoryApplicationIdOrUri` makes Event Grid (and smsgrid) send `Authorization: Bearer <JWT>` on every
request, the validation handshake included. Microsoft's guidance for such a webhook (secure-webhook-delivery;
"Access tokens": validate tokens) is to check the signature against the tenant's JWKS, the issuer, the audience (the
webhook's own application), the lifetime, and that the caller is Event Grid: `azp`/`appid` is Event Grid's
application and `roles` holds `AzureEventGridSecureWebhookSubscriber`. :class:`EntraTokenVerifier` does exactly that,
with PyJWT; it works against smsgrid (:meth:`EntraTokenVerifier.for_smsgrid`) and against Entra itself
(:meth:`EntraTokenVerifier.for_entra`).

    verifier = EntraTokenVerifier.for_smsgrid("http://127.0.0.1:8080", audience="api://my-webhook-app")
    endpoint = EventGridEndpoint(on_event, verifier=verifier)        # Starlette / FastAPI
    event_grid_view(on_event, verifier=verifier)                     # Flask

A request without a valid token is answered 401 before its body is looked at.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from smsgrid.entra.webhooks import EVENT_GRID_APP_ID, SECURE_WEBHOOK_ROLE

# smsgrid's well-known development tenant (docs/entra.md), the default of [entra] tenant_id.
SMSGRID_DEFAULT_TENANT = "00000000-5e55-4000-8000-000000000000"
ENTRA_AUTHORITY = "https://login.microsoftonline.com"
# Microsoft.IdentityModel's default clock skew, the tolerance Azure's own validators allow on exp and nbf.
DEFAULT_LEEWAY_SECONDS = 300
# What a 401 tells the caller (RFC 6750 §3).
WWW_AUTHENTICATE = 'Bearer error="invalid_token"'


class EntraTokenError(Exception):
    """Why a request's bearer token is refused; the adapters answer 401 with it."""


class EntraTokenVerifier:
    """Verifies `Authorization: Bearer …` headers of Event Grid deliveries to an Entra-protected webhook.

    `jwks_url` and `issuer` name the tenant's signing keys and issuer; `audience` is the webhook's application id
    or Application ID URI, as the subscription's `azureActiveDirectoryApplicationIdOrUri` names it. The JWKS is
    fetched on first use and cached (PyJWT's `PyJWKClient`: refetched when a token names an unknown `kid`).
    `verify` does blocking I/O on a cache miss; the Starlette adapter runs it in the thread pool.
    """

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        authorized_party: str | None = EVENT_GRID_APP_ID,
        required_role: str | None = SECURE_WEBHOOK_ROLE,
        ssl_context: ssl.SSLContext | None = None,
        leeway_seconds: float = DEFAULT_LEEWAY_SECONDS,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.authorized_party = authorized_party
        self.required_role = required_role
        self.leeway_seconds = leeway_seconds
        self._keys = jwt.PyJWKClient(jwks_url, cache_jwk_set=True, lifespan=300, ssl_context=ssl_context)

    @classmethod
    def for_smsgrid(
        cls,
        base_url: str,
        *,
        audience: str,
        tenant_id: str = SMSGRID_DEFAULT_TENANT,
        issuer_base_url: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> EntraTokenVerifier:
        """Tokens from the smsgrid at `base_url` (its JWKS is served on the plain-HTTP listener too).

        The tokens name smsgrid's HTTPS address as issuer (`https://<host>:<tls port>/{tenant}/v2.0`); give that
        address as `issuer_base_url` when it is not `base_url` (docs/entra.md, "Protected webhooks")."""
        base = base_url.rstrip("/")
        issuer_base = (issuer_base_url or base).rstrip("/")
        return cls(
            jwks_url=f"{base}/{tenant_id}/discovery/v2.0/keys",
            issuer=f"{issuer_base}/{tenant_id}/v2.0",
            audience=audience,
            ssl_context=ssl_context,
        )

    @classmethod
    def for_entra(cls, tenant_id: str, *, audience: str) -> EntraTokenVerifier:
        """Tokens from Microsoft Entra ID itself, for the same code in Azure (v2.0 access tokens)."""
        return cls(
            jwks_url=f"{ENTRA_AUTHORITY}/{tenant_id}/discovery/v2.0/keys",
            issuer=f"{ENTRA_AUTHORITY}/{tenant_id}/v2.0",
            audience=audience,
        )

    def verify_headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, Any]:
        items = headers.items() if isinstance(headers, Mapping) else headers
        value = next((v for k, v in items if k.lower() == "authorization"), None)
        return self.verify(value)

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims when `authorization` is `Bearer <a valid Event Grid token>`; else EntraTokenError."""
        if not authorization:
            raise EntraTokenError("The request has no Authorization header; Event Grid sends a bearer token.")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise EntraTokenError("The Authorization header is not 'Bearer <token>'.")
        token = token.strip()
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            # The keys cannot be fetched: refused (401), and Event Grid retries the delivery later.
            raise EntraTokenError(f"The signing keys at {self.jwks_url} cannot be fetched: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise EntraTokenError(f"The bearer token is not valid: {exc}") from exc
        if self.authorized_party is not None:
            caller = claims.get("azp", claims.get("appid"))
            if caller != self.authorized_party:
                raise EntraTokenError(
                    f"The token was issued to {caller!r}, not to Event Grid ({self.authorized_party})."
                )
        if self.required_role is not None:
            roles = claims.get("roles")
            if not isinstance(roles, list) or self.required_role not in roles:
                raise EntraTokenError(f"The token lacks the app role {self.required_role}.")
        return claims


__all__ = ["EntraTokenError", "EntraTokenVerifier"]
