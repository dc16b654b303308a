"""schemathesis against the OpenAPI document smsgrid serves (`GET /openapi.json`): every generated request is
answered without a 5xx and within the schema (status code, content type, headers, body).

Requests are signed on their way out: a `requests.Session` whose `send` signs the prepared request — the exact
bytes, path and Host that go on the wire — with the ACS HMAC (accepted by the data plane and the admin API,
SPEC §2, §4) and adds `aeg-sas-key` for topic publishing. Authentication itself is attacked elsewhere
(tests/reliability/test_auth_walk.py, test_hmac_attacks.py), so the checks that strip credentials are left out.

Loopback only: any `endpointUrl` in a generated body is rewritten to a local webhook sink before it is sent, so
the server's validation handshake never leaves this machine.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import Unsatisfiable

from reliability.clients import http_date
from smsgrid.api.hmac_auth import authorization_header
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid

# Checks on what the server answered. Left out: ignored_auth and missing_required_header (the signing session
# always adds credentials), positive_data_acceptance (a valid-by-schema send from a number the resource does not
# own is rightly a 401, as on Azure), and the stateful ones.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
SCHEMA_CHECKS = frozenset(CHECKS) - {"not_a_server_error", "negative_data_rejection"}


class SigningSession(requests.Session):
    """Signs every prepared request as the official SDK would, right before it is sent."""

    def __init__(self, server: SmsgridProcess, sink_url: str) -> None:
        super().__init__()
        self.key = base64.b64decode(server.access_key)
        self.access_key = server.access_key
        self.sink_url = sink_url
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        raw = request.body
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else b""
        if b"endpointUrl" in body:
            body = _loopback_only(body, self.sink_url)
            request.body = body
            request.headers["Content-Length"] = str(len(body))
        host = urlsplit(request.url or "").netloc
        signed = authorization_header(self.key, request.method or "GET", request.path_url, http_date(), host, body)
        request.headers.update(signed)
        request.headers["Host"] = host
        request.headers["aeg-sas-key"] = self.access_key
        self.sent += 1
        return super().send(request, **kwargs)


def _loopback_only(body: bytes, sink_url: str) -> bytes:
    """Every endpointUrl, at any depth, pointed at the local sink; a body that is not JSON is left alone."""
    try:
        value = json.loads(body)
    except ValueError:
        return body

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (sink_url if k == "endpointUrl" else rewrite(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    return json.dumps(rewrite(value)).encode()


@dataclass
class FuzzFigures:
    operations: int = 0
    cases: int = 0
    server_errors: int = 0  # 5xx answers
    outside_schema: int = 0  # cases failing a schema-conformance check
    accepted_negative: int = 0  # schema-invalid requests the server accepted (negative_data_rejection)
    failures_by_check: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.cases > 0 and self.server_errors == 0 and self.outside_schema == 0

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return [
            f"operations fuzzed                 {self.operations}",
            f"generated cases                   {self.cases}",
            f"5xx answers                       {self.server_errors}",
            f"answers outside the schema        {self.outside_schema}",
            f"schema-invalid requests accepted  {self.accepted_negative}",
            f"failures by check                 {dict(self.failures_by_check) or 'none'}",
            f"statuses                          {statuses}",
            f"wall time                         {self.seconds:.1f} s",
            *(f"finding: {example}" for example in self.examples),
        ]


def fuzz(server: SmsgridProcess, sink_url: str, *, examples_per_operation: int) -> FuzzFigures:
    """Positive and negative cases for every operation of the served schema; figures of what came back."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import CHECKS as REGISTERED_CHECKS
    from schemathesis.checks import load_all_checks
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.result import Ok

    figures = FuzzFigures()
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    load_all_checks()
    checks = REGISTERED_CHECKS.get_by_names(list(CHECKS))
    session = SigningSession(server, sink_url)

    def run_case(case: Any) -> None:
        figures.cases += 1
        response = case.call(base_url=server.base_url, session=session, timeout=30)
        figures.statuses[response.status_code] += 1
        figures.server_errors += response.status_code >= 500
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            names = {type(failure).__name__ for failure in group.exceptions}
            for failure in group.exceptions:
                figures.failures_by_check[type(failure).__name__] += 1
            if names & _SCHEMA_FAILURE_TYPES:
                figures.outside_schema += 1
            if "AcceptedNegativeData" in names:
                figures.accepted_negative += 1
            first_line = next((line for line in group.message.splitlines() if line.startswith("- ")), "")
            summary = f"{case.method} {case.formatted_path}: {first_line}"
            if len(figures.examples) < 40 and summary not in figures.examples:
                figures.examples.append(summary)

    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            figures.examples.append(f"operation the schema does not describe well: {result.err()}")
            continue
        operation = result.ok()
        figures.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_strategy(operation.as_strategy(generation_mode=mode), run_case, examples_per_operation)
    figures.seconds = time.monotonic() - started
    return figures


def _run_strategy(strategy: Any, run_case: Any, examples: int) -> None:
    """Draw `examples` cases from one operation's strategy and run each (no shrinking: every case counts once)."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(strategy)
    def run(case: Any) -> None:
        run_case(case)

    try:
        run()
    except Unsatisfiable:
        pass  # e.g. no negative data exists for an operation without parameters or body


_SCHEMA_FAILURE_TYPES = frozenset(
    {
        "UndefinedStatusCode",
        "UndefinedContentType",
        "MalformedMediaType",
        "MissingContentType",
        "MissingHeaders",
        "JsonSchemaError",
        "MalformedJson",
        "JSONSchemaValidationError",
    }
)


def run_api_fuzz(work_dir: Path, *, examples_per_operation: int = 40) -> FuzzFigures:
    with WebhookSink() as sink:
        server = start_smsgrid(
            work_dir / "api-fuzz", config="[carrier]\ndelay_ms = 10\n", time_scale=0.01, throttling=False
        )
        try:
            return fuzz(server, sink.url, examples_per_operation=examples_per_operation)
        finally:
            server.stop()
