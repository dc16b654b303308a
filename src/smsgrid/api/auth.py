"""Who may call: the data plane needs the ACS HMAC signature or an Entra token of smsgrid's issuer; the admin API
takes the HMAC or `Bearer <access key>`."""

from __future__ import annotations

import hmac
import time

from starlette.requests import Request

from smsgrid.api.hmac_auth import verify
from smsgrid.entra import EntraIssuer
from smsgrid.errors import AuthenticationError


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


async def require_data_plane_caller(request: Request, body: bytes, key: bytes, audience: str) -> None:
    """HMAC with the access key, or `Authorization: Bearer <token>` from this smsgrid's Entra issuer for
    `audience` — the two ways ACS authenticates a data-plane call (SDK: AzureKeyCredential or TokenCredential)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        issuer: EntraIssuer = request.app.state.entra
        reason = await issuer.check_bearer(token.strip(), audience)
        if reason is not None:
            raise AuthenticationError(reason)
        return
    require_hmac(request, body, key)


def require_admin(request: Request, body: bytes, key: bytes, access_key: str) -> None:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        if hmac.compare_digest(header[7:].strip().encode(), access_key.encode()):
            return
        raise AuthenticationError("The bearer token is not this resource's access key.")
    if header.startswith("HMAC-SHA256 "):
        require_hmac(request, body, key)
        return
    cookie = request.cookies.get("smsgrid_session")
    if cookie is not None and hmac.compare_digest(cookie.encode(), session_token(access_key).encode()):
        return
    raise AuthenticationError("Send 'Authorization: Bearer <access key>' (see `smsgrid connection-string`).")


def session_token(access_key: str) -> str:
    """The UI's session cookie value: derived from the key, so the key itself never sits in a cookie."""
    return hmac.new(access_key.encode(), b"smsgrid-ui-session", "sha256").hexdigest()
