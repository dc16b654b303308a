"""Property tests of ACS HMAC verification (SPEC §2): a signed request verifies; any change to what is signed,
a missing header, a wrong key or a date outside the skew window is refused; no input makes `verify` raise.

Requests are signed with `authorization_header`, which builds the string-to-sign the way azure-communication-sms
1.1.0 does (`_shared/policy.py`); tests/acceptance/test_sms_auth.py checks that the real SDK agrees.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from email.utils import formatdate

from hypothesis import assume, example, given
from hypothesis import strategies as st

from smsgrid.api.hmac_auth import CLOCK_SKEW_SECONDS, HmacFailure, authorization_header, verify
from smsgrid.config import WELL_KNOWN_ACCESS_KEY

NOW = 1_790_000_000.0  # a fixed "server time" (2026-09): dates are judged against it
KEY = base64.b64decode(WELL_KNOWN_ACCESS_KEY)


@dataclass(frozen=True)
class SignedRequest:
    key: bytes
    verb: str
    path_and_query: str
    host: str
    body: bytes
    sent_at: float

    def headers(self) -> dict[str, str]:
        date = formatdate(self.sent_at, usegmt=True)
        signed = authorization_header(self.key, self.verb, self.path_and_query, date, self.host, self.body)
        return {"host": self.host, **{name.lower(): value for name, value in signed.items()}}


def check(
    request: SignedRequest,
    headers: dict[str, str] | None = None,
    *,
    key: bytes = KEY,
    verb: str | None = None,
    path_and_query: str | None = None,
    body: bytes | None = None,
    now: float = NOW,
) -> HmacFailure | None:
    """Verify what the server would receive: the signed request, optionally changed on the way."""
    return verify(
        key=key,
        verb=request.verb if verb is None else verb,
        path_and_query=request.path_and_query if path_and_query is None else path_and_query,
        headers=request.headers() if headers is None else headers,
        body=request.body if body is None else body,
        now=now,
    )


segments = st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)
paths = st.lists(segments, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
queries = st.dictionaries(segments, segments, max_size=3).map(lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
hosts = st.tuples(st.sampled_from(["127.0.0.1", "localhost", "sms.example.test"]), st.integers(1, 65535)).map(
    lambda hp: f"{hp[0]}:{hp[1]}"
)
requests = st.builds(
    SignedRequest,
    key=st.binary(min_size=16, max_size=64),
    verb=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path_and_query=st.tuples(paths, queries).map(lambda pq: f"{pq[0]}?{pq[1]}" if pq[1] else pq[0]),
    host=hosts,
    body=st.binary(max_size=256),
    # Within the window, with a second of margin for the whole-second resolution of an RFC 1123 date.
    sent_at=st.floats(NOW - CLOCK_SKEW_SECONDS + 1, NOW + CLOCK_SKEW_SECONDS - 1),
)


@given(requests)
def test_a_signed_request_verifies(request: SignedRequest) -> None:
    assert check(request, key=request.key) is None


@given(requests, st.binary(max_size=256))
def test_a_tampered_body_is_refused(request: SignedRequest, other: bytes) -> None:
    assume(other != request.body)
    assert check(request, key=request.key, body=other) is not None


@given(requests, paths)
def test_a_tampered_path_is_refused(request: SignedRequest, other_path: str) -> None:
    path, sep, query = request.path_and_query.partition("?")
    assume(other_path != path)
    assert check(request, key=request.key, path_and_query=other_path + sep + query) is not None


@given(requests, queries)
def test_a_tampered_query_is_refused(request: SignedRequest, other_query: str) -> None:
    path, _, query = request.path_and_query.partition("?")
    assume(other_query != query)
    changed = f"{path}?{other_query}" if other_query else path
    assert check(request, key=request.key, path_and_query=changed) is not None


@given(requests, hosts)
def test_a_request_sent_to_another_host_is_refused(request: SignedRequest, other_host: str) -> None:
    assume(other_host not in (request.host, request.host + "/"))
    headers = {**request.headers(), "host": other_host}
    assert check(request, headers, key=request.key) is not None


@given(requests, st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
def test_another_verb_is_refused(request: SignedRequest, verb: str) -> None:
    assume(verb != request.verb)
    assert check(request, key=request.key, verb=verb) is not None


@given(requests, st.binary(min_size=16, max_size=64))
def test_another_key_is_refused(request: SignedRequest, other_key: bytes) -> None:
    assume(other_key != request.key)
    assert check(request, key=other_key) is not None


@given(requests, st.integers(1, 1_000_000))
def test_a_date_changed_after_signing_is_refused(request: SignedRequest, shift: int) -> None:
    # Even a date still inside the window: the date is part of what was signed.
    headers = {**request.headers(), "x-ms-date": formatdate(request.sent_at + shift, usegmt=True)}
    assert check(request, headers, key=request.key) is not None


@given(requests, st.sampled_from(["authorization", "x-ms-date", "x-ms-content-sha256", "host"]))
def test_a_missing_header_is_refused(request: SignedRequest, header: str) -> None:
    headers = {k: v for k, v in request.headers().items() if k != header}
    assert check(request, headers, key=request.key) is not None


@given(requests, st.floats(CLOCK_SKEW_SECONDS + 1, 10 * 365 * 86400), st.booleans())
@example(SignedRequest(KEY, "POST", "/sms?api-version=2021-03-07", "127.0.0.1:8080", b"{}", NOW), 901.0, True)
def test_stale_and_future_dates_are_refused(request: SignedRequest, distance: float, stale: bool) -> None:
    sent = replace(request, sent_at=NOW - distance if stale else NOW + distance)
    failure = check(sent, key=sent.key)
    assert failure is not None
    assert "15 minutes" in failure.reason


@given(requests, st.floats(CLOCK_SKEW_SECONDS + 1, 30 * 86400))
def test_a_captured_request_replayed_outside_the_window_is_refused(request: SignedRequest, later: float) -> None:
    assert check(request, key=request.key, now=request.sent_at) is None
    assert check(request, key=request.key, now=request.sent_at + later) is not None


@given(requests, st.integers(0, 2), st.text(max_size=3))
def test_a_mangled_signature_is_refused(request: SignedRequest, where: int, junk: str) -> None:
    headers = request.headers()
    scheme, _, params = headers["authorization"].partition(" ")
    signature = params.split("Signature=", 1)[1]
    mangled = [signature[:-1] + junk, signature + junk + "=", junk + signature[1:]][where]
    assume(mangled != signature)
    headers["authorization"] = f"{scheme} {params.split('Signature=', 1)[0]}Signature={mangled}"
    assert check(request, headers, key=request.key) is not None


header_names = st.sampled_from(["authorization", "x-ms-date", "date", "x-ms-content-sha256", "host"])


@given(st.dictionaries(header_names, st.text(max_size=80), max_size=5), st.binary(max_size=64), st.text(max_size=40))
def test_arbitrary_headers_never_crash_and_are_refused(headers: dict[str, str], body: bytes, path: str) -> None:
    failure = verify(key=KEY, verb="POST", path_and_query=path, headers=headers, body=body, now=NOW)
    assert isinstance(failure, HmacFailure)
    assert failure.reason


@given(requests, st.text(max_size=60))
def test_an_arbitrary_date_header_never_crashes(request: SignedRequest, date: str) -> None:
    headers = request.headers()
    signed_date = headers["x-ms-date"]
    headers["x-ms-date"] = date
    failure = check(request, headers, key=request.key)
    # The date is signed as written: any other text is refused, and none makes verify raise.
    assert (failure is None) == (date == signed_date)
