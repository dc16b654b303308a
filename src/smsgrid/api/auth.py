"""Who may call: the data plane needs the ACS HMAC signature or an Entra token of smsgrid's issuer; the admin API
takes the HMAC, `Bearer <access key>`, or the web UI's session cookie with its CSRF token.

The admin API decides who is calling from the headers alone, before it reads a body: a caller without a
credential is answered 401 at once instead of being allowed to trickle up to 1 MiB first (SECURITY.md).
"""

from __future__ import annotations

import hmac
import time
from enum import Enum

from starlette.requests import Request

from smsgrid.api.hmac_auth import verify
from smsgrid.api.web_auth import WebAuth
from smsgrid.entra import EntraIssuer
from smsgrid.errors import AuthenticationError, RequestError

SESSION_COOKIE = "smsgrid_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Caller(Enum):
    BEARER = "bearer"
    SESSION = "session"
    HMAC = "hmac"


def path_and_query(request: Request) -> str:
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def require_hmac(request: Request, body: bytes, key: bytes) -> None:
    failure = verify(
        key=key,
        verb=request.method,
        path_and_query=path_and_query(request),
        headers=request.headers,
        body=body,
        now=time.time(),
    )
    if failure is not None:
        raise AuthenticationError(failure.reason)


async def require_data_plane_caller(
    request: Request, body: bytes, key: bytes, issuer: EntraIssuer, audience: str
) -> None:
    """HMAC with the access key, or `Authorization: Bearer <token>` from this smsgrid's Entra issuer for
    `audience` — the two ways ACS authenticates a data-plane call (SDK: AzureKeyCredential or TokenCredential)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        reason = await issuer.check_bearer(token.strip(), audience)
        if reason is not None:
            raise AuthenticationError(reason)
        return
    require_hmac(request, body, key)


def admin_caller(request: Request, access_key: str, web_auth: WebAuth) -> Caller:
    """Who is calling, from the headers only; raises before any body is read when it is nobody.

    A session cookie alone is what a browser attaches to a cross-site request, so a state-changing call made
    with it must also carry the session's CSRF token in `X-CSRF-Token` (OWASP CSRF cheat sheet, "custom
    request header"); a page on another origin can neither read the token nor set that header without CORS.
    """
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        if hmac.compare_digest(header[7:].strip().encode(), access_key.encode()):
            return Caller.BEARER
        raise AuthenticationError("The bearer token is not this resource's access key.")
    if header.startswith("HMAC-SHA256 "):
        return Caller.HMAC
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is not None:
        session = web_auth.sessions.get(cookie)
        if session is None:
            raise AuthenticationError("The session has ended; log in to the web UI again.")
        if request.method not in SAFE_METHODS:
            token = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(token.encode(), session.csrf.encode()):
                raise RequestError(
                    403, "Forbidden", "A call made with the web UI's session needs its CSRF token in X-CSRF-Token."
                )
        return Caller.SESSION
    raise AuthenticationError("Send 'Authorization: Bearer <access key>' (see `smsgrid connection-string`).")


def check_hmac_admin(request: Request, body: bytes, key: bytes, web_auth: WebAuth) -> None:
    """An HMAC-signed admin call: the signature, and for a state-changing one, that it was not sent before."""
    require_hmac(request, body, key)
    if request.method not in SAFE_METHODS:
        _, _, signature = request.headers.get("authorization", "").rpartition("Signature=")
        if not web_auth.replays.first_use(signature):
            raise AuthenticationError(
                "This signed request was already accepted once (replay); sign every request anew. "
                "x-ms-date has one-second resolution, so two identical requests need different seconds."
            )
