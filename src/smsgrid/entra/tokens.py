"""Access tokens as Entra's v2.0 endpoint issues them to an application (client-credentials grant), and their
check by a protected API. Pure functions: the caller passes the key and the time.

Claims follow Microsoft identity platform "Access token claims reference" for an app-only v2.0 token: `aud` is the
resource of the requested `{resource}/.default` scope, `iss` is `{authority}/{tenant}/v2.0`, `azp` (and the v1
name `appid`) the client, `oid`/`sub` the application's service principal, `idtyp` "app", `ver` "2.0".
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from smsgrid.entra.keys import SigningKey

# Entra hands out app tokens for about an hour ("expires_in": 3599 in its token responses).
TOKEN_LIFETIME_SECONDS = 3599
# Microsoft.IdentityModel's default ClockSkew, the tolerance Azure services apply to exp and nbf.
CLOCK_SKEW_SECONDS = 5 * 60
DEFAULT_SUFFIX = "/.default"
# OpenID Connect scopes a client may add; they name no resource (Entra ignores them for app tokens).
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# Stable per (tenant, client): the same application always gets the same object id, as in a real directory.
_SERVICE_PRINCIPAL_NAMESPACE = uuid.UUID("5d1e3b8a-6a2f-4c83-9f0e-1d2b6c7e8f90")


@dataclass(frozen=True, slots=True)
class ScopeProblem:
    """Why a `scope` cannot be granted to a client (answered AADSTS1002012 / AADSTS900144)."""

    reason: str
    missing: bool = False


@dataclass(frozen=True, slots=True)
class TokenRejected:
    """Why a protected API refuses a bearer token (answered 401)."""

    reason: str


def resource_of_scope(scope: str) -> str | ScopeProblem:
    """The resource a client-credentials `scope` asks for: `https://communication.azure.com//.default` →
    `https://communication.azure.com`. The grant takes exactly one `{resource}/.default` scope (Microsoft identity
    platform, "OAuth 2.0 client credentials flow"); trailing slashes of the resource are not significant."""
    scopes = [item for item in scope.split() if item not in OIDC_SCOPES]
    if not scopes:
        return ScopeProblem("The request body must contain the following parameter: 'scope'.", missing=True)
    if len(scopes) != 1 or not scopes[0].endswith(DEFAULT_SUFFIX):
        return ScopeProblem(
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
            "with /.default suffixed to the resource identifier (application ID URI)."
        )
    resource = normalise_audience(scopes[0][: -len(DEFAULT_SUFFIX)])
    if not resource:
        return ScopeProblem(f"The provided value for scope {scope} names no resource before /.default.")
    return resource


def normalise_audience(value: str) -> str:
    return value.rstrip("/")


def issuer_url(base_url: str, tenant_id: str) -> str:
    return f"{base_url.rstrip('/')}/{tenant_id}/v2.0"


def service_principal_id(tenant_id: str, client_id: str) -> str:
    return str(uuid.uuid5(_SERVICE_PRINCIPAL_NAMESPACE, f"{tenant_id}/{client_id}"))


def access_token_claims(
    *, issuer: str, tenant_id: str, client_id: str, audience: str, now: int, lifetime: int = TOKEN_LIFETIME_SECONDS
) -> dict[str, Any]:
    principal = service_principal_id(tenant_id, client_id)
    return {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "azp": client_id,
        "azpacr": "1",  # authenticated with a client secret
        "appid": client_id,
        "appidacr": "1",
        "idp": issuer,
        "idtyp": "app",
        "oid": principal,
        "sub": principal,
        "tid": tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "2.0",
    }


def sign(claims: Mapping[str, Any], key: SigningKey) -> str:
    return jwt.encode(dict(claims), key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def _issuer_problem(issuer: object, tenant_id: str) -> str | None:
    """The issuer must be this issuer's `…/{tenant}/v2.0`. Its scheme and host are not compared: one smsgrid is
    reached as 127.0.0.1, localhost or a container name, and only its own key can have signed the token."""
    if not isinstance(issuer, str):
        return "The token has no 'iss' claim."
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path.rstrip("/") != f"/{tenant_id}/v2.0":
        return f"The token's issuer {issuer!r} is not this smsgrid's tenant {tenant_id} (…/{tenant_id}/v2.0)."
    return None


def _audience_problem(aud: object, audience: str) -> str | None:
    given = aud if isinstance(aud, list) else [aud]
    if any(isinstance(item, str) and normalise_audience(item) == audience for item in given):
        return None
    return (
        f"The token's audience {aud!r} is not {audience}; request the scope {audience}/.default "
        f"(the SDK does this when given a TokenCredential)."
    )


def verify_access_token(
    token: str, *, key: SigningKey, tenant_id: str, audience: str, now: float
) -> dict[str, Any] | TokenRejected:
    """The claims of a token this issuer signed for `audience`, still valid at `now`; else why not."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return TokenRejected("The bearer token is not a JWT; get one from this smsgrid's Entra token endpoint.")
    if header.get("alg") != "RS256":
        return TokenRejected(f"The token is signed with {header.get('alg')!r}; only RS256 tokens are accepted.")
    if header.get("kid") != key.kid:
        return TokenRejected("The token was not signed by this smsgrid's issuer (unknown 'kid').")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=["RS256"],
            # Checked below against `now`, with Azure's skew and messages that say what to change.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        return TokenRejected("The token's signature is not valid for this smsgrid's signing key.")
    except jwt.PyJWTError as exc:
        return TokenRejected(f"The token cannot be read: {exc}.")
    if (problem := _issuer_problem(claims.get("iss"), tenant_id)) is not None:
        return TokenRejected(problem)
    if claims.get("tid") != tenant_id:
        return TokenRejected(f"The token's tenant {claims.get('tid')!r} is not {tenant_id}.")
    if (problem := _audience_problem(claims.get("aud"), audience)) is not None:
        return TokenRejected(problem)
    exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return TokenRejected("The token has no numeric 'exp' claim.")
    if now >= exp + CLOCK_SKEW_SECONDS:
        return TokenRejected("The token has expired; get a new one (azure-identity does so by itself).")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now + CLOCK_SKEW_SECONDS < nbf:
        return TokenRejected("The token is not valid yet (nbf is in the future); check the client's clock.")
    return claims
