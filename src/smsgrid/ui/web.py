"""What every UI handler shares: the login gate, CSRF, and rendering a page with safe headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from smsgrid.api.context import AppContext
from smsgrid.api.responses import read_body
from smsgrid.api.web_auth import WebAuth
from smsgrid.ui import session
from smsgrid.ui.live import Versions
from smsgrid.ui.templating import environment

# Only this site's own files run or style a page (every asset is served here, nothing from a CDN); no page
# may be framed; and no Referer leaves a page, because the one-time login URL carries its token.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# Notices shown after a POST redirects back (post/redirect/get); the query names one, never free text.
NOTICES = {
    "sent": "Message accepted. Its delivery state updates here live.",
    "received": "Incoming text recorded; subscribers get an SMSReceived event.",
    "saved": "Event subscription saved.",
    "deleted": "Event subscription deleted.",
    "redelivered": "Dead letter queued for redelivery.",
    "loggedout": "You are logged out.",
}

PROBLEMS = {
    "inactive": "Not redelivered: its subscription no longer exists or is not active (validate it first).",
}

MAX_FORM_BYTES = 64 * 1024


def login_redirect(auth: WebAuth, request: Request) -> Response | None:
    """None when the visitor holds a session; otherwise a redirect to the login page that comes back here."""
    if session.is_logged_in(auth, request):
        return None
    if request.headers.get("hx-request") == "true":
        # A live refresh after the session ended: have htmx load the login page as a whole page, rather than
        # follow a redirect and swap a fragment it cannot find (which would blank that part of the page).
        page = urlsplit(request.headers.get("hx-current-url", ""))
        back = session.safe_next(page.path + (f"?{page.query}" if page.query else ""))
        return Response(status_code=204, headers={"HX-Redirect": f"/login?next={quote(back, safe='')}"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def read_form(request: Request) -> bytes:
    return await read_body(request, MAX_FORM_BYTES)


def csrf_refused() -> Response:
    return HTMLResponse(
        "<h1>Form expired</h1><p>This form's security token does not match your session. "
        "Go back, reload the page and send it again.</p>",
        status_code=403,
        headers=SECURITY_HEADERS,
    )


def render(
    ctx: AppContext,
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    versions: Versions | None = None,
    status: int = 200,
) -> Response:
    logged_in = session.is_logged_in(ctx.web_auth, request)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    base = {
        "request": request,
        "path": request.url.path,
        "refresh_url": refresh_url(request),
        "csrf": session.request_csrf_token(ctx.web_auth, request) if logged_in else "",
        "csrf_field": session.CSRF_FIELD,
        "logged_in": logged_in,
        "owned_numbers": ctx.resource.phone_numbers,
        "resource_name": ctx.resource.name,
        "since": versions.encode() if versions else "",
        "notice": notice,
        "problem": PROBLEMS.get(request.query_params.get("problem", "")),
    }
    html = environment().get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def refresh_url(request: Request) -> str:
    """This page's URL for live refreshes, without the one-off notice of the redirect that led here."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("notice", "problem")]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def not_found(ctx: AppContext, request: Request, what: str) -> Response:
    return render(ctx, request, "not_found.html", {"what": what, "active": ""}, status=404)
