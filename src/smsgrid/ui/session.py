"""Who is logged in to the web UI, and the CSRF token of its forms.

The session cookie holds a random id of a server-side session (`smsgrid.api.web_auth.Sessions`): it expires
when idle and at an absolute age, is replaced at every login and revoked at logout. Each session has its own
random CSRF token, which every form posts (and the admin API wants in `X-CSRF-Token` when the cookie is the
credential). A page from another site cannot read it, so it cannot forge a form even where SameSite=Lax lets a
top-level POST through (OWASP CSRF cheat sheet, "synchronizer token pattern").
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from smsgrid.api.auth import CSRF_HEADER, SESSION_COOKIE
from smsgrid.api.web_auth import SESSION_ABSOLUTE_SECONDS, Session, WebAuth

CSRF_FIELD = "csrf"
__all__ = ["CSRF_FIELD", "CSRF_HEADER", "SESSION_COOKIE"]


def key_matches(given: str, access_key: str) -> bool:
    return hmac.compare_digest(given.strip().encode(), access_key.encode())


def current(auth: WebAuth, request: Request) -> Session | None:
    """The live session of this browser, or None (no cookie, unknown, expired or logged out)."""
    return auth.sessions.get(request.cookies.get(SESSION_COOKIE))


def is_logged_in(auth: WebAuth, request: Request) -> bool:
    return current(auth, request) is not None


def request_csrf_token(auth: WebAuth, request: Request) -> str:
    session = current(auth, request)
    return session.csrf if session else ""


def csrf_ok(auth: WebAuth, request: Request, submitted: str | None) -> bool:
    session = current(auth, request)
    token = submitted or request.headers.get(CSRF_HEADER)
    if session is None or not token:
        return False
    return hmac.compare_digest(token.encode(), session.csrf.encode())


def start_session(auth: WebAuth, request: Request, response: Response, *, secure: bool) -> None:
    """A fresh session id (the one the browser had is revoked: no fixation). HttpOnly (no script reads it) and
    SameSite=Lax (no cross-site subrequest carries it); the cookie lives no longer than the session may."""
    session_id, _ = auth.sessions.start(request.cookies.get(SESSION_COOKIE))
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_ABSOLUTE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def end_session(auth: WebAuth, request: Request, response: Response) -> None:
    """Revoked on the server, so a copy of the cookie is worth nothing either."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.sessions.end(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


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
