"""Subscription details Azure has (issue 15 item 4) and the Entra-protected destination properties (item 2):
parsing, rendering and the store round trip; the webhook token's claims and its cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.config import EntraSettings
from smsgrid.delivery.subscription_spec import (
    WebhookDestination,
    format_expiration,
    parse_expiration,
    parse_subscription_spec,
    spec_from_storage_dict,
    spec_to_public_dict,
    spec_to_storage_dict,
)
from smsgrid.delivery.wire import build_headers
from smsgrid.entra import EntraIssuer
from smsgrid.entra.webhooks import EVENT_GRID_APP_ID, REFRESH_MARGIN_SECONDS, SECURE_WEBHOOK_ROLE, WebhookTokens
from smsgrid.errors import SubscriptionSpecError

URL = "http://127.0.0.1:9000/events"
TENANT = "00000000-5e55-4000-8000-000000000000"
APP_URI = "api://my-webhook-app"


def body(**destination: Any) -> dict[str, Any]:
    return {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": URL, **destination}}}


def problems_of(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SubscriptionSpecError) as caught:
        parse_subscription_spec("my-app", raw)
    return {p.path: p.reason for p in caught.value.problems}


def test_entra_properties_are_echoed_and_round_trip() -> None:
    spec = parse_subscription_spec(
        "my-app",
        body(azureActiveDirectoryTenantId=TENANT.upper(), azureActiveDirectoryApplicationIdOrUri=APP_URI),
    )
    assert isinstance(spec.destination, WebhookDestination)
    assert spec.destination.azure_active_directory_tenant_id == TENANT  # canonical lower-case GUID
    assert spec.destination.entra_protected
    shown = spec_to_public_dict(spec)["properties"]["destination"]["properties"]
    assert shown["azureActiveDirectoryTenantId"] == TENANT
    assert shown["azureActiveDirectoryApplicationIdOrUri"] == APP_URI
    assert spec_from_storage_dict(spec_to_storage_dict(spec)) == spec


def test_an_application_id_guid_is_accepted() -> None:
    app_id = "11111111-2222-3333-4444-555555555555"
    spec = parse_subscription_spec(
        "my-app", body(azureActiveDirectoryTenantId=TENANT, azureActiveDirectoryApplicationIdOrUri=app_id.upper())
    )
    assert isinstance(spec.destination, WebhookDestination)
    assert spec.destination.azure_active_directory_application_id_or_uri == app_id


def test_entra_properties_come_in_pairs_and_are_checked() -> None:
    assert "azureActiveDirectoryApplicationIdOrUri" in next(
        iter(problems_of(body(azureActiveDirectoryTenantId=TENANT)))
    )
    found = problems_of(
        body(azureActiveDirectoryTenantId="not-a-guid", azureActiveDirectoryApplicationIdOrUri="no uri here")
    )
    assert set(found) == {
        "destination.properties.azureActiveDirectoryTenantId",
        "destination.properties.azureActiveDirectoryApplicationIdOrUri",
    }


def test_an_authorization_attribute_cannot_sit_beside_entra() -> None:
    mapping = {"name": "Authorization", "type": "Static", "properties": {"value": "Basic x"}}
    found = problems_of(
        body(
            azureActiveDirectoryTenantId=TENANT,
            azureActiveDirectoryApplicationIdOrUri=APP_URI,
            deliveryAttributeMappings=[mapping],
        )
    )
    assert list(found) == ["destination.properties.deliveryAttributeMappings[0].name"]


def test_labels_and_expiration_are_echoed_null_when_absent() -> None:
    spec = parse_subscription_spec("my-app", body())
    props = spec_to_public_dict(spec)["properties"]
    assert props["labels"] is None
    assert props["expirationTimeUtc"] is None
    # Kept out of the stored record when unset, so records stored before these fields existed compare equal.
    assert "labels" not in spec_to_storage_dict(spec)["properties"]


def test_labels_and_expiration_round_trip() -> None:
    raw = {**body(), "labels": ["sms", "prod"], "expirationTimeUtc": "2030-01-02T03:04:05+01:00"}
    spec = parse_subscription_spec("my-app", raw)
    props = spec_to_public_dict(spec)["properties"]
    assert props["labels"] == ["sms", "prod"]
    assert props["expirationTimeUtc"] == "2030-01-02T02:04:05Z"
    assert spec_from_storage_dict(spec_to_storage_dict(spec)) == spec


def test_bad_labels_and_expiration_are_refused() -> None:
    found = problems_of({**body(), "labels": ["ok", 3], "expirationTimeUtc": "tomorrow"})
    assert set(found) == {"labels[1]", "expirationTimeUtc"}
    assert "ISO 8601" in found["expirationTimeUtc"]
    assert set(problems_of({**body(), "labels": "sms"})) == {"labels"}
    assert set(problems_of({**body(), "expirationTimeUtc": "2030-01-01"})) == {"expirationTimeUtc"}


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)))
def test_expiration_format_parses_back(moment: datetime) -> None:
    assert parse_expiration(format_expiration(moment)) == moment


def test_the_bearer_is_sent_only_when_given() -> None:
    spec = parse_subscription_spec("my-app", body())
    plain = build_headers(spec, first_item={}, delivery_count=1, content_type="x", origin="o")
    assert "Authorization" not in plain
    signed = build_headers(
        spec, first_item={}, delivery_count=1, content_type="x", origin="o", authorization="Bearer t"
    )
    assert signed["Authorization"] == "Bearer t"


class FakeTime:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def test_webhook_tokens_carry_event_grids_claims_and_are_cached(tmp_path: Path) -> None:
    issuer = EntraIssuer(EntraSettings(), tmp_path)
    clock = FakeTime()
    minter = WebhookTokens(issuer, "https://127.0.0.1:8443", now=clock)

    async def scenario() -> tuple[str, str, str, str]:
        first = await minter.token(APP_URI)
        again = await minter.token(APP_URI)
        other = await minter.token("api://another-app")
        clock.now += 3599 - REFRESH_MARGIN_SECONDS + 1  # inside the refresh margin: a new token
        renewed = await minter.token(APP_URI)
        return first, again, other, renewed

    first, again, other, renewed = asyncio.run(scenario())
    assert first == again
    assert first not in (other, renewed)
    key = asyncio.run(issuer.signing_key())
    claims = jwt.decode(
        first,
        key.public_key,
        algorithms=["RS256"],
        audience=APP_URI,
        issuer=f"https://127.0.0.1:8443/{TENANT}/v2.0",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["azp"] == claims["appid"] == EVENT_GRID_APP_ID
    assert claims["roles"] == [SECURE_WEBHOOK_ROLE]
    assert claims["tid"] == TENANT
    assert claims["exp"] - claims["iat"] == 3599
    assert jwt.get_unverified_header(first)["kid"] == key.kid
