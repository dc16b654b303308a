"""The Entra issuer's pure parts: scopes to audiences, token claims, verification, the key file, `[entra]`."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.config import (
    WELL_KNOWN_CLIENT_ID,
    WELL_KNOWN_CLIENT_SECRET,
    WELL_KNOWN_TENANT_ID,
    EntraApplication,
    load_settings,
)
from smsgrid.entra import keys, tokens
from smsgrid.errors import ConfigError

TENANT = WELL_KNOWN_TENANT_ID
CLIENT = WELL_KNOWN_CLIENT_ID
AUDIENCE = "https://communication.azure.com"
ISSUER = f"https://127.0.0.1:8443/{TENANT}/v2.0"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> keys.SigningKey:
    return keys.load_or_create(tmp_path_factory.mktemp("entra-key"))


def token(key: keys.SigningKey, **overrides: object) -> str:
    claims = tokens.access_token_claims(issuer=ISSUER, tenant_id=TENANT, client_id=CLIENT, audience=AUDIENCE, now=NOW)
    return tokens.sign({**claims, **overrides}, key)


def verify(key: keys.SigningKey, value: str, now: float = NOW, audience: str = AUDIENCE) -> object:
    return tokens.verify_access_token(value, key=key, tenant_id=TENANT, audience=audience, now=now)


# ------------------------------------------------------------------------------------------------ scopes

resources = st.from_regex(r"\A(https://[a-z]{1,12}\.[a-z]{2,6}(/[a-z0-9]{1,8})?|api://[a-f0-9]{8})\Z")


@given(resources, st.integers(min_value=0, max_value=2))
def test_the_resource_of_a_default_scope_ignores_trailing_slashes(resource: str, slashes: int) -> None:
    assert tokens.resource_of_scope(resource + "/" * slashes + "/.default") == resource


def test_the_sdks_scopes_yield_the_audiences_the_data_plane_expects() -> None:
    assert tokens.resource_of_scope("https://communication.azure.com//.default") == "https://communication.azure.com"
    assert tokens.resource_of_scope("https://eventgrid.azure.net/.default") == "https://eventgrid.azure.net"
    assert tokens.resource_of_scope("openid offline_access https://eventgrid.azure.net/.default") == (
        "https://eventgrid.azure.net"
    )


@pytest.mark.parametrize(
    ("scope", "missing"),
    [
        ("", True),
        ("openid profile", True),
        ("https://communication.azure.com/user_impersonation", False),
        ("https://a.example/.default https://b.example/.default", False),
        ("/.default", False),
    ],
)
def test_scopes_that_name_no_single_resource_are_refused(scope: str, missing: bool) -> None:
    problem = tokens.resource_of_scope(scope)
    assert isinstance(problem, tokens.ScopeProblem)
    assert problem.missing is missing
    assert problem.reason


# ------------------------------------------------------------------------------------------------ tokens


@given(st.integers(min_value=-tokens.CLOCK_SKEW_SECONDS, max_value=tokens.TOKEN_LIFETIME_SECONDS + 299))
def test_a_token_verifies_for_its_audience_for_its_lifetime_and_the_skew(key: keys.SigningKey, offset: int) -> None:
    claims = verify(key, token(key), now=NOW + offset)
    assert isinstance(claims, dict)
    assert claims["aud"] == AUDIENCE
    assert claims["azp"] == claims["appid"] == CLIENT
    assert claims["tid"] == TENANT
    assert claims["ver"] == "2.0"


def test_the_header_names_the_key_and_the_claims_are_entra_v2_app_claims(key: keys.SigningKey) -> None:
    value = token(key)
    assert jwt.get_unverified_header(value) == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    claims = jwt.decode(value, key.public_key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})  # fmt: skip
    assert claims["exp"] - claims["iat"] == tokens.TOKEN_LIFETIME_SECONDS
    assert claims["oid"] == claims["sub"] == tokens.service_principal_id(TENANT, CLIENT)
    assert claims["idtyp"] == "app"


def test_a_trailing_slash_on_the_audience_is_the_same_audience(key: keys.SigningKey) -> None:
    assert isinstance(verify(key, token(key, aud=AUDIENCE + "/")), dict)
    assert isinstance(verify(key, token(key, aud=["https://other.example", AUDIENCE])), dict)


@pytest.mark.parametrize(
    ("overrides", "now", "reason"),
    [
        ({}, NOW + tokens.TOKEN_LIFETIME_SECONDS + tokens.CLOCK_SKEW_SECONDS, "expired"),
        ({}, NOW - tokens.CLOCK_SKEW_SECONDS - 1, "not valid yet"),
        ({"aud": "https://eventgrid.azure.net"}, NOW, "audience"),
        ({"aud": "https://communication.azure.com.evil.example"}, NOW, "audience"),
        ({"iss": "https://127.0.0.1:8443/11111111-1111-1111-1111-111111111111/v2.0"}, NOW, "issuer"),
        ({"iss": "https://127.0.0.1:8443/" + TENANT}, NOW, "issuer"),
        ({"tid": "11111111-1111-1111-1111-111111111111"}, NOW, "tenant"),
        ({"exp": None}, NOW, "exp"),
    ],
)
def test_a_token_outside_its_audience_tenant_or_time_is_refused(
    key: keys.SigningKey, overrides: dict[str, object], now: int, reason: str
) -> None:
    verdict = verify(key, token(key, **overrides), now=now)
    assert isinstance(verdict, tokens.TokenRejected)
    assert reason in verdict.reason


def test_a_token_signed_by_another_key_is_refused_even_with_our_kid(key: keys.SigningKey) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(token(key), options={"verify_signature": False})
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": key.kid})
    verdict = verify(key, forged)
    assert isinstance(verdict, tokens.TokenRejected)
    assert "signature" in verdict.reason


def test_hmac_and_unsigned_tokens_are_refused(key: keys.SigningKey) -> None:
    claims = jwt.decode(token(key), options={"verify_signature": False})
    # The classic confusion: an HS256 token "signed" with the public key that anyone can fetch from the JWKS.
    public_n = base64.urlsafe_b64decode(key.jwk()["n"] + "==")
    for value in (
        jwt.encode(claims, public_n, algorithm="HS256", headers={"kid": key.kid}),
        jwt.encode(claims, "", algorithm="none", headers={"kid": key.kid}),
        "not.a.jwt",
        "",
    ):
        assert isinstance(verify(key, value), tokens.TokenRejected), value


# --------------------------------------------------------------------------------------------------- key


def test_the_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    first = keys.load_or_create(tmp_path)
    path = tmp_path / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load_or_create(tmp_path).kid == first.kid
    assert first.jwk()["kid"] == first.kid
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file is left behind"


def test_an_unreadable_key_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / keys.KEY_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a key")
    with pytest.raises(RuntimeError, match="delete it"):
        keys.load_or_create(tmp_path)


# -------------------------------------------------------------------------------------------------- config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smsgrid.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_configuration_the_well_known_application_exists() -> None:
    settings = load_settings(env={})
    assert settings.entra.tenant_id == WELL_KNOWN_TENANT_ID
    assert settings.entra.applications == (
        EntraApplication(client_id=WELL_KNOWN_CLIENT_ID, client_secret=WELL_KNOWN_CLIENT_SECRET),
    )


def test_a_server_with_its_own_key_has_no_well_known_application() -> None:
    own_key = base64.b64encode(b"k" * 32).decode()
    assert load_settings(env={"SMSGRID_ACCESS_KEY": own_key}).entra.applications == ()


def test_configured_applications_replace_the_well_known_one(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
[entra]
tenant_id = "3F1A6C2E-8B5D-4E7F-9A0B-1C2D3E4F5A6B"
[[entra.applications]]
client_id = "b7e6d5c4-b3a2-4918-8f7e-6d5c4b3a2918"
client_secret = "s3cret-value"
""",
    )
    entra = load_settings(config, env={}).entra
    assert entra.tenant_id == "3f1a6c2e-8b5d-4e7f-9a0b-1c2d3e4f5a6b"
    assert entra.applications == (
        EntraApplication(client_id="b7e6d5c4-b3a2-4918-8f7e-6d5c4b3a2918", client_secret="s3cret-value"),
    )
    assert "s3cret-value" not in repr(entra)


def test_every_problem_of_the_entra_section_is_listed_without_the_secret(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
[entra]
tenant_id = "contoso.onmicrosoft.com"
colour = "blue"
[[entra.applications]]
client_id = "b7e6d5c4-b3a2-4918-8f7e-6d5c4b3a2918"
client_secret = "first-secret"
[[entra.applications]]
client_id = "b7e6d5c4-b3a2-4918-8f7e-6d5c4b3a2918"
client_secret = "second-secret"
[[entra.applications]]
client_id = "not-a-guid"
client_secret = ""
""",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env={})
    paths = {problem.path for problem in raised.value.problems}
    assert paths == {
        "entra.tenant_id",
        "entra.colour",
        "entra.applications[1].client_id",
        "entra.applications[2].client_id",
        "entra.applications[2].client_secret",
    }
    assert "first-secret" not in str(raised.value)
    assert "second-secret" not in str(raised.value)


# ------------------------------------------------------------------------------------------------ garbage

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@given(st.text(max_size=200))
def test_any_text_is_refused_not_raised(key: keys.SigningKey, value: str) -> None:
    assert isinstance(verify(key, value), tokens.TokenRejected)


@given(json_values, json_values, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40))
def test_any_three_json_segments_are_refused_not_raised(
    key: keys.SigningKey, header: object, payload: object, signature: str
) -> None:
    for head in (header, {"alg": "RS256", "kid": key.kid, "extra": header}):
        verdict = verify(key, f"{segment(head)}.{segment(payload)}.{signature}")
        assert isinstance(verdict, tokens.TokenRejected)
