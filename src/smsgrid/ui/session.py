"""Who is logged in to the web UI, and the per-session CSRF token of its forms.

The session cookie holds `smsgrid.api.auth.session_token(access_key)`, never the key itself, so the admin API
accepts the same cookie (`require_admin`). Because that value is the same for every login, each login also
sets a random nonce cookie; the CSRF token of a session is an HMAC of that nonce under the access key. A page
from another site cannot read either cookie, so it cannot forge the token even where SameSite=Lax lets a
top-level POST through (OWASP CSRF cheat sheet, "signed double-submit cookie").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response

from smsgrid.api.auth import session_token

SESSION_COOKIE = "smsgrid_session"
CSRF_NONCE_COOKIE = "smsgrid_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# A working day: a dev console does not need to outlive it, and re-entering is one click on the printed URL.
SESSION_MAX_AGE_SECONDS = 12 * 3600


def key_matches(given: str, access_key: str) -> bool:
    return hmac.compare_digest(given.strip().encode(), access_key.encode())


def key_from_query(raw_query: bytes) -> str | None:
    """The `key` of `/login?key=…`, read without turning `+` into a space.

    A base64 key has `+`, `/` and `=` in it, and the printed one-click URL may carry it unescaped; form
    decoding (`unquote_plus`) would change `+` to a space, so the raw value is percent-decoded only.
    """
    for part in raw_query.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name == "key":
            return unquote(value)
    return None


def is_logged_in(request: Request, access_key: str) -> bool:
    cookie = request.cookies.get(SESSION_COOKIE)
    nonce = request.cookies.get(CSRF_NONCE_COOKIE)
    if not cookie or not nonce:
        return False
    return hmac.compare_digest(cookie.encode(), session_token(access_key).encode())


def csrf_token(access_key: str, nonce: str) -> str:
    return hmac.new(access_key.encode(), b"smsgrid-ui-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def request_csrf_token(request: Request, access_key: str) -> str:
    return csrf_token(access_key, request.cookies.get(CSRF_NONCE_COOKIE, ""))


def csrf_ok(request: Request, access_key: str, submitted: str | None) -> bool:
    nonce = request.cookies.get(CSRF_NONCE_COOKIE)
    token = submitted or request.headers.get(CSRF_HEADER)
    if not nonce or not token:
        return False
    return hmac.compare_digest(token.encode(), csrf_token(access_key, nonce).encode())


def start_session(response: Response, access_key: str, *, secure: bool) -> None:
    """HttpOnly (no script reads it) and SameSite=Lax (no cross-site subrequest carries it)."""
    for name, value in ((SESSION_COOKIE, session_token(access_key)), (CSRF_NONCE_COOKIE, secrets.token_urlsafe(24))):
        response.set_cookie(
            name,
            value,
            max_age=SESSION_MAX_AGE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )


def end_session(response: Response) -> None:
    for name in (SESSION_COOKIE, CSRF_NONCE_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, samesite="lax")


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (no `//host`, no scheme), else the dashboard."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def form_fields(body: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what every UI form posts); the last value of a name wins."""
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def form_lists(body: bytes) -> dict[str, list[str]]:
    """The same body keeping every value of repeated names (checkbox groups)."""
    out: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        out.setdefault(name, []).append(value)
    return out
