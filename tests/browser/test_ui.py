"""The web UI in a real headless Chromium against a real `smsgrid serve` process.

A person's path through it: log in with a one-time login URL (as printed), send from the compose form and watch the
message turn Delivered without reloading (server-sent events), read its timeline, subscribe a webhook that
refuses every event, see the event dead-lettered and redeliver it. Each page is saved as a screenshot under
`test-artifacts/screenshots/` for a human to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from smsgrid.testing import SmsgridProcess, WebhookSink
from smsgrid.testing.plugin import subscribe

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
OWNED = "+18005550100"
# A recipient whose carrier report takes 3 s, so the page is certainly showing "Sending…" before it turns.
SLOW_HANDSET = "+14255550190"
LIVE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed() -> None:
    """Skip without Debian's chromium, except in CI, where a missing browser is a broken environment (.ci/run
    installs it) and must fail rather than pass quietly."""
    if CHROMIUM.exists():
        return
    missing = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{missing} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(missing)


@pytest.fixture
def smsgrid_config() -> str:
    return f"""
[carrier]
delay_ms = 300

[[carrier.rules]]
to = "{SLOW_HANDSET}"
delay_ms = 3000
"""


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium, never a downloaded build (`playwright install` is not used anywhere).
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def context(browser: Browser, smsgrid_server: SmsgridProcess) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1440, "height": 960}, base_url=smsgrid_server.base_url)
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(context: BrowserContext, console_errors: list[str]) -> Iterator[Page]:
    page = context.new_page()
    # A Content-Security-Policy refusal, a missing asset or a script error shows up as a console error: the UI
    # must have none (a test that provokes an error status on purpose takes its expected line out).
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    yield page
    assert console_errors == [], f"browser console errors: {console_errors}"


def one_click_url(server: SmsgridProcess) -> str:
    """A one-time login URL, as `smsgrid serve` prints and `smsgrid login-url` makes (POST /admin/login-tokens)."""
    with server.admin() as admin:
        made = admin.post("/admin/login-tokens")
    assert made.status_code == 201, made.text
    return f"{server.base_url}{made.json()['path']}"


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def login(page: Page, server: SmsgridProcess) -> None:
    page.goto(one_click_url(server))
    expect(page).to_have_url(f"{server.base_url}/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "open")


def test_unauthenticated_pages_redirect_to_login(
    page: Page, smsgrid_server: SmsgridProcess, console_errors: list[str]
) -> None:
    base = smsgrid_server.base_url
    for path in ("/", "/phones/+18005550100", "/messages", "/subscriptions", "/deadletters"):
        page.goto(base + path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.locator("#login-form")).to_be_visible()
    shot(page, "01-login")

    # A wrong key is refused on the form; the right one comes back to the page asked for.
    page.goto(base + "/deadletters")
    page.fill("input[name=key]", "not-the-key")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".notice-bad")).to_contain_text("not this resource's key")
    console_errors.remove("Failed to load resource: the server responded with a status of 401 (Unauthorized)")
    page.fill("input[name=key]", smsgrid_server.access_key)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(f"{base}/deadletters")
    expect(page.get_by_role("heading", name="Dead letters")).to_be_visible()

    # Without a session: the live stream answers 401 and a form post is sent back to the login page.
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.get("/ui/stream").status_code == 401
        # A live refresh (htmx) whose session ended is told to load the login page as a whole page.
        refresh = anonymous.get("/messages", headers={"HX-Request": "true", "HX-Current-URL": f"{base}/messages"})
        assert refresh.status_code == 204
        assert refresh.headers["HX-Redirect"] == "/login?next=%2Fmessages"
        refused = anonymous.post("/phones/+18005550100/send", data={"to": "+14255550123", "message": "x"})
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/login")


def test_session_cookie_is_httponly_samesite_and_forms_need_the_csrf_token(
    page: Page, context: BrowserContext, smsgrid_server: SmsgridProcess
) -> None:
    login(page, smsgrid_server)
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["smsgrid_session"]
    assert len(session["value"]) >= 43  # a random id (32 bytes), not derived from the key
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    # No script can read it, and the access key itself is on no page.
    assert "smsgrid_session" not in page.evaluate("document.cookie")
    for path in ("/", "/phones/+18005550100", "/subscriptions/new"):
        page.goto(path)
        assert smsgrid_server.access_key not in page.content()

    # The session works for the admin API too (admin_caller accepts the cookie) ...
    admin = page.request.get("/admin/messages")
    assert admin.status == 200
    # ... a state-changing call with it needs the session's CSRF token in X-CSRF-Token ...
    inbound = {"from": "+14255550123", "to": "+18005550100", "message": "no token"}
    assert page.request.post("/admin/inbound", data=inbound).status == 403
    # ... but a form post with the session and without the per-session CSRF token is refused.
    forged = page.request.post(
        "/phones/+18005550100/send", form={"to": "+14255550123", "message": "forged"}, max_redirects=0
    )
    assert forged.status == 403
    assert page.request.get("/admin/messages").json()["value"] == []

    # Logging out ends the session: the dashboard asks for the key again.
    page.goto("/")
    page.click("form[action='/logout'] button")
    expect(page).to_have_url(re.compile(r"/login\?notice=loggedout"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    # ... on the server: the old cookie, replayed, opens nothing.
    replayed = httpx.get(
        f"{smsgrid_server.base_url}/admin/messages", cookies={"smsgrid_session": session["value"]}, timeout=10
    )
    assert replayed.status_code == 401


def test_sent_message_turns_delivered_live_and_its_timeline_shows_every_step(
    page: Page, smsgrid_server: SmsgridProcess, webhook_sink: WebhookSink, console_errors: list[str]
) -> None:
    subscribe(smsgrid_server, "my-app", webhook_sink.url)
    login(page, smsgrid_server)
    page.click(f".nav-item[href='/phones/{OWNED}']")
    expect(page.get_by_role("heading", name="+1 800-555-0100")).to_be_visible()

    # A number that is not one: the form comes back with the problem and what was typed.
    compose = page.locator("#compose-form")
    compose.locator("input[name=to]").fill("425-555")
    compose.locator("textarea[name=message]").fill("Hello?")
    compose.locator("button[type=submit]").click()
    expect(page.locator(".side-forms .notice-bad")).to_contain_text("'425-555' is not a phone number")
    expect(compose.locator("textarea[name=message]")).to_have_value("Hello?")
    console_errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")

    # Three recipients in one send: the slow one, one the carrier rejects (magic number 4005), one quick.
    compose.locator("input[name=to]").fill(f"{SLOW_HANDSET}, +15005554005, +14255550123")
    compose.locator("textarea[name=message]").fill("Your table for two is ready at 7:30 pm. Reply YES to confirm.")
    compose.locator("input[name=tag]").fill("ui-test")
    compose.locator("button[type=submit]").click()

    expect(page.locator(".notice-ok")).to_contain_text("Message accepted")
    bubble = page.locator(".bubble-row.mine").last
    message_id = (bubble.get_attribute("id") or "").removeprefix("msg-")
    assert message_id
    status = page.locator(f"#status-{message_id}")
    expect(status).to_have_text("Sending…")
    # Mark this document: if the page reloaded, the mark would be gone.
    page.evaluate("window.__smsgridNoReload = true")
    expect(status).to_have_text("Delivered ✓✓", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__smsgridNoReload === true"), "the page reloaded instead of updating live"

    # The handset answers through "text this number": a left-hand bubble in the same conversation.
    inbound = page.locator("#inbound-form")
    inbound.locator("input[name=from]").fill(SLOW_HANDSET)
    inbound.locator("textarea[name=message]").fill("On my way!")
    inbound.locator("button[type=submit]").click()
    expect(page.locator(".bubble-row.theirs .bubble")).to_have_text("On my way!")
    shot(page, "03-phone")

    page.locator(f"#msg-{message_id} .bubble").click()
    expect(page).to_have_url(re.compile(f"/messages/{message_id}$"))
    timeline = page.locator("#timeline")
    titles = timeline.locator(".step-title")
    expect(titles).to_have_text(["Accepted", "Carrier attempt 1", "Delivered", "Event SMSDeliveryReportReceived"])
    # The report event's delivery to my-app, with its attempt: HTTP status, outcome, duration.
    attempt = timeline.locator(".delivery-card .attempts tbody tr").first
    expect(attempt).to_contain_text("200", timeout=LIVE_TIMEOUT_MS)
    expect(attempt).to_contain_text("Succeeded")
    expect(attempt).to_contain_text(re.compile(r"\d+\.\d ms"))
    expect(page.locator("#message-status")).to_have_attribute("data-status", "delivered")
    shot(page, "04-message-timeline")

    # The rejected recipient failed with its carrier code.
    page.goto("/messages")
    failed_row = page.locator("tr", has=page.locator("td", has_text="+1 500-555-4005"))
    expect(failed_row.locator(".pill")).to_have_text("Failed", timeout=LIVE_TIMEOUT_MS)
    shot(page, "05-messages")

    page.goto("/events")
    expect(page.locator("tbody tr")).to_have_count(4)  # three delivery reports and one SMSReceived
    shot(page, "06-events")
    page.locator("tbody tr a").first.click()
    expect(page.locator(".delivery-card")).to_contain_text("my-app")
    shot(page, "07-event")

    page.goto("/")
    expect(page.locator("#kpi-messages")).to_have_text("4")
    expect(page.locator("#kpi-sms-rate")).to_have_text("66.7%")  # two delivered, one failed
    shot(page, "02-dashboard")


def test_failing_subscription_dead_letters_and_is_redelivered_from_the_ui(
    page: Page, smsgrid_server: SmsgridProcess, webhook_sink: WebhookSink
) -> None:
    with WebhookSink(responder=lambda request: 400) as refusing:
        login(page, smsgrid_server)

        # Create, through the form, a subscription for SMSReceived to an endpoint that answers 400.
        page.click(".nav-item[href='/subscriptions']")
        page.click("#new-subscription")
        form = page.locator("#subscription-form")
        form.locator("input[name=name]").fill("failing-hook")
        form.locator("input[name=endpoint_url]").fill(refusing.url + "?code=secret-in-query")
        form.locator("input[name=event_types][value='Microsoft.Communication.SMSReceived']").check()
        shot(page, "08-subscription-form")
        form.locator("button[type=submit]").click()
        card = page.locator("#sub-failing-hook")
        expect(card).to_contain_text("Succeeded")
        expect(card).to_contain_text("SMSReceived")
        assert "secret-in-query" not in page.content()

        # Edit it: fewer attempts; the URL left empty keeps the stored one (query and all).
        card.get_by_role("link", name="Edit").click()
        page.locator("input[name=max_delivery_attempts]").fill("5")
        page.locator("#subscription-form button[type=submit]").click()
        expect(page.locator("#sub-failing-hook")).to_contain_text("5 attempts")
        assert len(refusing.validations()) == 2
        assert all("code=secret-in-query" in r.path for r in refusing.validations())

        # A second, healthy subscription, for the screenshot and for delete.
        page.click("#new-subscription")
        page.locator("input[name=name]").fill("my-app")
        page.locator("input[name=endpoint_url]").fill(webhook_sink.url)
        page.locator("#subscription-form button[type=submit]").click()
        expect(page.locator("#sub-my-app")).to_contain_text("Succeeded")

        # An SMS arrives: failing-hook answers 400, which Event Grid dead-letters at once (no retry).
        page.goto(f"/phones/{OWNED}")
        page.locator("#inbound-form input[name=from]").fill("+14255550123")
        page.locator("#inbound-form textarea[name=message]").fill("Is the 7pm slot still free?")
        page.locator("#inbound-form button[type=submit]").click()
        refusing.wait_for(lambda s: len(s.notifications()) == 1)

        page.goto("/subscriptions")
        expect(page.locator("#sub-failing-hook")).to_contain_text("failing in a row", timeout=LIVE_TIMEOUT_MS)
        shot(page, "09-subscriptions")

        page.click(".nav-item[href='/deadletters']")
        first = page.locator("tbody tr").first
        expect(first).to_contain_text("UndeliverableDueToHttpBadRequest", timeout=LIVE_TIMEOUT_MS)
        expect(first).to_contain_text("failing-hook")
        expect(first).to_contain_text("(400)")
        dead_id = (first.get_attribute("id") or "").removeprefix("deadletter-")
        shot(page, "10-deadletters")

        first.get_by_role("button", name="Redeliver").click()
        expect(page.locator(".notice-ok")).to_contain_text("queued for redelivery")
        expect(page.locator(f"#deadletter-{dead_id}")).to_contain_text("Redelivered")
        # The endpoint gets the event again, refuses again, and a new dead letter appears without a reload.
        refusing.wait_for(lambda s: len(s.notifications()) == 2)
        page.evaluate("window.__smsgridNoReload = true")
        expect(page.locator("tbody tr")).to_have_count(2, timeout=LIVE_TIMEOUT_MS)
        assert page.evaluate("window.__smsgridNoReload === true")
        shot(page, "11-deadletters-redelivered")

        # Delete the healthy one (the page asks first).
        page.goto("/subscriptions")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#sub-my-app").get_by_role("button", name="Delete").click()
        expect(page.locator(".notice-ok")).to_contain_text("deleted")
        expect(page.locator("#sub-my-app")).to_have_count(0)
        with smsgrid_server.admin() as admin:
            names = [s["name"] for s in admin.get("/admin/subscriptions").json()["value"]]
        assert names == ["failing-hook"]
