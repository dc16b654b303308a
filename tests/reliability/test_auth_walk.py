"""Every route the server serves refuses a caller without the access key (SPEC §2, §4; SECURITY.md).

The route table is the served one: `create_app(context, server._ui_routes(context))`, exactly what `smsgrid serve`
builds. A route added later is walked too, so it fails here until it checks the key or is listed in PUBLIC
with the reason it is public. API routes must answer 401 in Azure's error shape; UI pages and forms must send
the browser to the login page (or answer 401).
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reliability.clients import http_date
from starlette.routing import BaseRoute, Mount, Route

from smsgrid import server as smsgrid_server_module
from smsgrid.api.app import create_app
from smsgrid.api.hmac_auth import authorization_header
from smsgrid.config import Settings
from smsgrid.runtime import Runtime
from smsgrid.testing import SmsgridProcess

# (method, path template) -> why it needs no key. Everything else must refuse.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe for load balancers and `wait_ready` (SPEC §4: no auth); says only 'ok'",
    ("GET", "/metrics"): "Prometheus text: counters and subscription names only, no secret or message content "
    "(SECURITY.md, 'Metrics')",
    ("GET", "/openapi.json"): "the public description of the API; holds no data",
    ("GET", "/eventsubscriptions/{name}/validate"): "Event Grid's validationUrl: its one-time code is the "
    "credential (end-point-validation-event-grid-events-schema)",
    ("GET", "/login"): "the login form itself",
    ("POST", "/login"): "checks the key it is given",
    ("GET", "/{tenant}/v2.0/.well-known/openid-configuration"): "the Entra issuer's OpenID discovery document, "
    "public as Entra's (docs/entra.md); names endpoints only",
    ("GET", "/{tenant}/discovery/v2.0/keys"): "the Entra issuer's public signing keys (JWKS), public by design",
    ("POST", "/{tenant}/oauth2/v2.0/token"): "the Entra token endpoint: checks the client secret it is given",
    ("GET", "/{tenant}/oauth2/v2.0/authorize"): "answers only that user sign-in is not offered",
}
PUBLIC_MOUNTS = {"/ui/static": "CSS and the vendored htmx; no data"}

# Plausible values for path parameters, so a handler cannot answer 404 before it checks the key.
PARAMETER_VALUES = {
    "action": "add",
    "name": "walk-subscription",
    "number": "+18005550100",
    "message_id": "Outgoing_20260101000000aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
    "event_id": "Outgoing_20260101000000aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
    "deadletter_id": "1",
}
OTHER_KEY = base64.b64encode(b"not-the-key-of-this-resource-32b").decode()


def served_routes(tmp_dir: Path) -> list[BaseRoute]:
    """The route table `smsgrid serve` serves, built the same way (server.serve -> create_app)."""
    runtime = Runtime.build(Settings(data_dir=tmp_dir))
    try:
        context = runtime.app_context()
        app = create_app(context, smsgrid_server_module._ui_routes(context))
        return list(app.routes)
    finally:
        asyncio.run(runtime.store.close())


def endpoints(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"mounted app {route.path} is not walked; check its auth and list it"
            continue
        assert isinstance(route, Route), f"unknown route kind {route!r}"
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                yield method, route.path


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: PARAMETER_VALUES.get(m.group(1), "1"), path)


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    found = list(endpoints(served_routes(tmp_path_factory.mktemp("routes"))))
    assert len(found) > 20, f"the walk found only {found}"
    return [endpoint for endpoint in found if endpoint not in PUBLIC]


def is_ui(path: str) -> bool:
    return not path.startswith(("/admin", "/sms", "/deliveryReports", "/api/", "/metrics"))


def assert_refused(response: httpx.Response, method: str, path: str) -> None:
    where = f"{method} {path} answered {response.status_code} {response.text[:200]!r}"
    if is_ui(path) and response.status_code in (302, 303, 307):
        assert response.headers["location"].startswith("/login"), where
        return
    assert response.status_code == 401, where
    if is_ui(path):
        return  # e.g. the live stream, which a browser's EventSource reads: a bare 401 is enough there
    error = response.json()["error"]
    assert isinstance(error["code"], str), where
    assert error["code"], where
    assert isinstance(error["message"], str), where
    assert error["message"], where


def walk(server: SmsgridProcess, protected: list[tuple[str, str]], headers: dict[str, str], **extra: str) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10.0, cookies=extra or None) as client:
        for method, template in protected:
            path = concrete(template)
            body = b'{"from":"+14255550123","to":"+18005550100","message":"walk"}' if method != "GET" else b""
            response = client.request(method, path, content=body, headers=headers)
            assert_refused(response, method, template)


def test_the_walk_covers_the_admin_api_the_data_plane_and_the_ui(protected: list[tuple[str, str]]) -> None:
    paths = {path for _, path in protected}
    assert {"/admin/subscriptions/{name}", "/sms", "/api/events", "/messages"} <= paths


def test_every_route_refuses_a_caller_without_credentials(
    shared_server: SmsgridProcess, protected: list[tuple[str, str]]
) -> None:
    walk(shared_server, protected, {})


def test_every_route_refuses_a_bearer_token_that_is_not_the_key(
    shared_server: SmsgridProcess, protected: list[tuple[str, str]]
) -> None:
    walk(shared_server, protected, {"Authorization": f"Bearer {OTHER_KEY}", "aeg-sas-key": OTHER_KEY})


def test_every_route_refuses_a_forged_session_cookie(
    shared_server: SmsgridProcess, protected: list[tuple[str, str]]
) -> None:
    walk(shared_server, protected, {}, smsgrid_session="0" * 64, smsgrid_csrf="forged")


def test_every_route_refuses_a_request_signed_with_another_key(
    shared_server: SmsgridProcess, protected: list[tuple[str, str]]
) -> None:
    host = f"127.0.0.1:{shared_server.port}"
    with httpx.Client(base_url=shared_server.base_url, timeout=10.0) as client:
        for method, template in protected:
            path = concrete(template)
            body = b"{}" if method != "GET" else b""
            headers = authorization_header(base64.b64decode(OTHER_KEY), method, path, http_date(), host, body)
            assert_refused(client.request(method, path, content=body, headers=headers), method, template)


def test_the_public_routes_really_exist(tmp_path: Path) -> None:
    """A stale PUBLIC entry would hide nothing today but could hide a new route with the same path tomorrow."""
    served = set(endpoints(served_routes(tmp_path)))
    assert set(PUBLIC) <= served, set(PUBLIC) - served
