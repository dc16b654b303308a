"""Log in with a one-time login link or the access key (form), log out.

The key never travels in a URL: a URL stays in the browser's history. `smsgrid serve` prints, and
`smsgrid login-url` makes, a link with a one-time token instead (`smsgrid.api.web_auth.LoginTokens`).
Failed attempts are counted per client address and throttled (429).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smsgrid.api.context import AppContext
from smsgrid.ui import session
from smsgrid.ui.web import SECURITY_HEADERS, csrf_refused, read_form, redirect, render

KEY_IN_URL = (
    "Access keys are not accepted in the address (it would stay in the browser history). Paste the key here, "
    "or open the one-time link `smsgrid login-url` prints."
)
WRONG_KEY = "That access key is not this resource's key."
BAD_TOKEN = "That login link is unknown, expired or already used. Run `smsgrid login-url` for a new one."


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _logged_in_response(ctx: AppContext, request: Request, target: str | None) -> Response:
    response = redirect(session.safe_next(target))
    session.start_session(ctx.web_auth, request, response, secure=request.url.scheme == "https")
    return response


def _form(ctx: AppContext, request: Request, next_path: str, error: str | None = None, status: int = 200) -> Response:
    return render(ctx, request, "login.html", {"next": next_path, "error": error, "active": ""}, status=status)


def _throttled(ctx: AppContext, request: Request, next_path: str) -> Response | None:
    wait = ctx.web_auth.login_throttle.retry_after(_client(request))
    if not wait:
        return None
    response = _form(ctx, request, next_path, f"Too many failed logins from your address; try again in {wait} s.", 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _failed(ctx: AppContext, request: Request, next_path: str, error: str, status: int) -> Response:
    ctx.web_auth.login_throttle.failed(_client(request))
    return _form(ctx, request, next_path, error, status)


async def login_page(ctx: AppContext, request: Request) -> Response:
    """`GET /login?token=…` is the one-time link: it logs in and redirects at once; without one, the form."""
    next_path = session.safe_next(request.query_params.get("next"))
    token = request.query_params.get("token")
    if token is not None:
        if (refused := _throttled(ctx, request, next_path)) is not None:
            return refused
        if ctx.web_auth.login_tokens.redeem(token):
            return _logged_in_response(ctx, request, next_path)
        return _failed(ctx, request, next_path, BAD_TOKEN, 401)
    if "key" in request.query_params:
        return _form(ctx, request, next_path, KEY_IN_URL, 400)
    if session.is_logged_in(ctx.web_auth, request):
        return redirect(next_path)
    return _form(ctx, request, next_path)


async def login_submit(ctx: AppContext, request: Request) -> Response:
    # A throttled client is answered before its form is read: guessing costs it a whole request each time.
    if (refused := _throttled(ctx, request, "/")) is not None:
        return refused
    fields = session.form_fields(await read_form(request))
    next_path = session.safe_next(fields.get("next"))
    if session.key_matches(fields.get("key", ""), ctx.resource.access_key):
        return _logged_in_response(ctx, request, next_path)
    return _failed(ctx, request, next_path, WRONG_KEY, 401)


async def logout(ctx: AppContext, request: Request) -> Response:
    if not session.is_logged_in(ctx.web_auth, request):
        return redirect("/login")
    fields = session.form_fields(await read_form(request))
    if not session.csrf_ok(ctx.web_auth, request, fields.get(session.CSRF_FIELD)):
        return csrf_refused()
    response = redirect("/login?notice=loggedout")
    session.end_session(ctx.web_auth, request, response)
    return response


__all__ = ["SECURITY_HEADERS", "login_page", "login_submit", "logout"]
