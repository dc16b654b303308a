"""Log in with the access key (one-click URL or form), log out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smsgrid.ui import session
from smsgrid.ui.web import access_key_of, csrf_refused, read_form, redirect, render


def _logged_in_response(request: Request, target: str | None) -> Response:
    response = redirect(session.safe_next(target))
    session.start_session(response, access_key_of(request), secure=request.url.scheme == "https")
    return response


def _form(request: Request, next_path: str, error: str | None = None, status: int = 200) -> Response:
    return render(request, "login.html", {"next": next_path, "error": error, "active": ""}, status=status)


async def login_page(request: Request) -> Response:
    """`GET /login?key=…` is the one-click URL `smsgrid serve` prints: it logs in and redirects at once, so the
    key does not stay in the address bar or history; without a key, the form."""
    next_path = session.safe_next(request.query_params.get("next"))
    given = session.key_from_query(request.scope.get("query_string", b""))
    key = access_key_of(request)
    if given is not None:
        if session.key_matches(given, key):
            return _logged_in_response(request, next_path)
        return _form(request, next_path, "That access key is not this resource's key.", 401)
    if session.is_logged_in(request, key):
        return redirect(next_path)
    return _form(request, next_path)


async def login_submit(request: Request) -> Response:
    fields = session.form_fields(await read_form(request))
    next_path = session.safe_next(fields.get("next"))
    if session.key_matches(fields.get("key", ""), access_key_of(request)):
        return _logged_in_response(request, next_path)
    return _form(request, next_path, "That access key is not this resource's key.", 401)


async def logout(request: Request) -> Response:
    if not session.is_logged_in(request, access_key_of(request)):
        return redirect("/login")
    fields = session.form_fields(await read_form(request))
    if not session.csrf_ok(request, access_key_of(request), fields.get(session.CSRF_FIELD)):
        return csrf_refused()
    response = redirect("/login?notice=loggedout")
    session.end_session(response)
    return response
