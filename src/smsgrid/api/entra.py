"""The issuer's HTTP endpoints, at Entra's v2.0 paths under smsgrid's own listeners (docs/entra.md):

- `GET /{tenant}/v2.0/.well-known/openid-configuration` — what MSAL reads first (tenant discovery),
- `GET /{tenant}/discovery/v2.0/keys` — the JWKS,
- `POST /{tenant}/oauth2/v2.0/token` — the client-credentials grant (RFC 6749 §4.4), form-encoded, the client
  authenticated by `client_secret` in the body or HTTP Basic (both are what MSAL may send),
- `GET /{tenant}/oauth2/v2.0/authorize` — named in discovery because MSAL requires the field; user sign-in is not
  offered, so it answers why.

Public like Entra's own: the token endpoint checks the client's secret itself.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.api.responses import json_response, read_body
from smsgrid.api.routing import RouteSpec, bind_routes
from smsgrid.entra import tokens
from smsgrid.entra.errors import AadstsError, missing_parameter, tenant_not_found
from smsgrid.entra.issuer import EntraIssuer
from smsgrid.errors import RequestError

# A client-credentials request is a few hundred bytes; refuse big bodies before parsing them.
TOKEN_BODY_LIMIT = 64 * 1024
FORM = "application/x-www-form-urlencoded"
# RFC 6749 §5.1: token answers must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _base_url(request: Request) -> str:
    """The address the client used (scheme and Host): the issuer and endpoints are named under it."""
    return str(request.base_url).rstrip("/")


def _error(request: Request, error: AadstsError) -> Response:
    body = error.body(correlation_id=request.headers.get("client-request-id"))
    return json_response(body, error.status, NO_STORE)


async def openid_configuration(issuer: EntraIssuer, request: Request) -> Response:
    tenant = request.path_params["tenant"]
    if not issuer.knows_tenant(tenant):
        return _error(request, tenant_not_found(tenant, "invalid_tenant"))
    return json_response(issuer.openid_configuration(_base_url(request)))


async def keys(issuer: EntraIssuer, request: Request) -> Response:
    tenant = request.path_params["tenant"]
    if not issuer.knows_tenant(tenant):
        return _error(request, tenant_not_found(tenant, "invalid_tenant"))
    return json_response(await issuer.jwks())


async def authorize(issuer: EntraIssuer, request: Request) -> Response:
    return _error(
        request,
        AadstsError(
            400,
            "unsupported_response_type",
            700054,
            "smsgrid's issuer offers no user sign-in; applications get tokens with the client-credentials grant "
            "at the token endpoint (docs/entra.md).",
        ),
    )


def _form(body: bytes, content_type: str) -> dict[str, str]:
    if content_type.partition(";")[0].strip().lower() != FORM:
        # Entra reads only a form body; anything else reads as no parameters at all.
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise AadstsError(400, "invalid_request", 900144, "The request body is not UTF-8 form data.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise AadstsError(
                400, "invalid_request", 9000411, f"The request is not properly formatted: '{name}' is duplicated."
            )
        form[name] = value
    return form


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """HTTP Basic client authentication: `client_id:client_secret`, each form-encoded first (RFC 6749 §2.3.1)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise AadstsError(401, "invalid_client", 7000216, "The Basic authorization header is not base64.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise AadstsError(401, "invalid_client", 7000216, "The Basic authorization header lacks 'id:secret'.")
    return unquote_plus(client_id), unquote_plus(secret)


async def _grant(request: Request, issuer: EntraIssuer) -> Response:
    tenant = request.path_params["tenant"]
    if not issuer.knows_tenant(tenant):
        raise tenant_not_found(tenant)
    try:
        body = await read_body(request, TOKEN_BODY_LIMIT)
    except RequestError as exc:
        raise AadstsError(exc.status, "invalid_request", 900144, exc.message) from None
    form = _form(body, request.headers.get("content-type", ""))
    grant_type = form.get("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    if grant_type != "client_credentials":
        raise AadstsError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'; smsgrid's issuer offers "
            "client_credentials only.",
        )
    basic = _basic_credentials(request.headers.get("authorization", ""))
    client_id, secret = basic if basic is not None else (form.get("client_id", ""), form.get("client_secret"))
    if basic is not None and form.get("client_id") not in (None, "", client_id):
        raise AadstsError(401, "invalid_client", 7000216, "The client_id in the body and in the Basic header differ.")
    if not client_id:
        raise missing_parameter("client_id")
    resource = tokens.resource_of_scope(form.get("scope", ""))
    if isinstance(resource, tokens.ScopeProblem):
        if resource.missing:
            raise missing_parameter("scope")
        raise AadstsError(400, "invalid_scope", 1002012, resource.reason)
    app = issuer.authenticate(client_id, secret)
    token, lifetime = await issuer.issue(base_url=_base_url(request), app=app, audience=resource)
    answer = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    return json_response(answer, 200, NO_STORE)


async def token(issuer: EntraIssuer, request: Request) -> Response:
    try:
        return await _grant(request, issuer)
    except AadstsError as exc:
        return _error(request, exc)


TABLE: list[RouteSpec[EntraIssuer]] = [
    RouteSpec("/{tenant}/v2.0/.well-known/openid-configuration", "GET", openid_configuration),
    RouteSpec("/{tenant}/discovery/v2.0/keys", "GET", keys),
    RouteSpec("/{tenant}/oauth2/v2.0/token", "POST", token),
    RouteSpec("/{tenant}/oauth2/v2.0/authorize", "GET", authorize),
]


def routes(issuer: EntraIssuer) -> list[Route]:
    # Microsoft's published OpenID protocol, not smsgrid's API: left out of /openapi.json (docs/entra.md).
    return bind_routes(issuer, TABLE, in_schema=False)
