"""azure-communication-sms's OWN test suite, run live against a real smsgrid: proof by code we did not write.

The suite ships in the package's sdist. At test time pip downloads that sdist into `.cache/sdk` (never into this
repository), its `tests/` directory is unpacked, and it runs with pytest in a subprocess in the Azure SDK's live
mode (AZURE_TEST_RUN_LIVE=true, no recording) against `smsgrid serve`: the connection string, the sender number and
smsgrid's self-signed certificate are given through the variables the suite and the SDK read. The suite imports
`devtools_testutils`, the Azure SDK repository's unpublished test helpers; tests/sdk/shim holds a live-only stand-in.

Every test must pass except those in NOT_PASSING, each with its reason and the failure it must show; the set of
tests that do not pass must equal that table exactly, so a test that starts passing has to leave it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from smsgrid.testing import start_smsgrid
from tests.sdk.support import CACHE, HERE, run_fetch

PACKAGE = "azure-communication-sms"
VERSION = "1.1.0"
TESTS_IN_SUITE = 24  # test_hmac 2, test_sms_client(_async) 4 + 4, test_sms_client_e2e(_async) 7 + 7
SENDER = "+18005550100"

ENTRA = (
    "Microsoft Entra ID: the test builds azure.identity.DefaultAzureCredential() with no arguments. smsgrid issues "
    "Entra tokens (docs/entra.md; tests/acceptance/test_entra.py sends with DefaultAzureCredential), but MSAL then "
    "runs instance discovery against login.microsoftonline.com for any authority host it does not know, and only the "
    "disable_instance_discovery=True keyword, which this test does not pass, turns that off. Offline that request "
    "cannot succeed, and tests send nothing off loopback, so the chain is limited to EnvironmentCredential "
    "(AZURE_TOKEN_CREDENTIALS) with no Entra variables set: it fails at once."
)
FAILS_ON_AZURE_TOO = (
    "Fails against Azure too: it expects HttpResponseError, but Azure answers 202 with a per-recipient 400 "
    '"Invalid To phone number format." (the suite\'s recordings test_sms_client_e2e.pyTestClient'
    "test_send_sms_fake_to_phone_number.json and its _async twin), so the SDK raises nothing; smsgrid answers the same."
)


@dataclass(frozen=True)
class Excepted:
    reason: str
    failure: str  # text the failure message must contain, so the exception cannot hide another failure


NOT_PASSING: dict[str, Excepted] = {
    "test_sms_client_e2e.TestClient.test_send_sms_from_managed_identity": Excepted(
        ENTRA, "DefaultAzureCredential failed to retrieve a token"
    ),
    "test_sms_client_e2e_async.TestClientAsync.test_send_sms_from_managed_identity_async": Excepted(
        ENTRA, "DefaultAzureCredential failed to retrieve a token"
    ),
    "test_sms_client_e2e.TestClient.test_send_sms_fake_to_phone_number": Excepted(FAILS_ON_AZURE_TOO, "DID NOT RAISE"),
    "test_sms_client_e2e_async.TestClientAsync.test_send_sms_fake_to_phone_number_async": Excepted(
        FAILS_ON_AZURE_TOO, "DID NOT RAISE"
    ),
}

# How smsgrid's side runs the suite: its markers, pytest-asyncio for its async tests, a per-test bound.
SUITE_INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
timeout = 120
markers =
    live_test_only: runs only in live mode (registered by the Azure SDK repository's root conftest)
"""


@dataclass(frozen=True)
class Outcome:
    test_id: str
    passed: bool
    message: str


def suite_tests_dir() -> Path:
    """The sdist's tests/ directory, downloaded with pip and unpacked into the cache once."""
    root = CACHE / f"{PACKAGE}-{VERSION}"
    tests = root / "tests"
    if tests.is_dir():
        return tests
    dist = CACHE / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    sdists = sorted(dist.glob(f"{PACKAGE.replace('-', '_')}-{VERSION}.tar.gz"))
    if not sdists:
        run_fetch(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"{PACKAGE}=={VERSION}", "-d", str(dist)],
            f"the {PACKAGE} {VERSION} sdist",
        )  # fmt: skip
        sdists = sorted(dist.glob(f"{PACKAGE.replace('-', '_')}-{VERSION}.tar.gz"))
    assert sdists, f"pip downloaded no sdist of {PACKAGE} {VERSION} into {dist}"
    # Unpack beside the final place and rename, so an interrupted run never leaves half a suite in the cache.
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch, tarfile.open(sdists[0]) as archive:
        members = [m for m in archive.getmembers() if m.name.split("/")[1:2] == ["tests"]]
        assert members, f"{sdists[0].name} has no tests/ directory"
        archive.extractall(scratch, members=members, filter="data")
        top = Path(scratch) / members[0].name.split("/")[0]
        root.mkdir(parents=True, exist_ok=True)
        (top / "tests").rename(tests)
    return tests


def outcomes(junit_xml: Path) -> list[Outcome]:
    found = []
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        classname = case.get("classname", "")
        module_and_class = classname.removeprefix("tests.")
        problem = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        # The traceback text when there is one (it ends with the message), else the message alone.
        message = "" if problem is None else f"{problem.tag}: {problem.text or problem.get('message', '')}"
        found.append(Outcome(f"{module_and_class}.{case.get('name')}", problem is None, message))
    return found


def test_azure_communication_sms_own_suite_passes_live_against_smsgrid(tmp_path: Path) -> None:
    installed = version(PACKAGE)
    assert installed == VERSION, f"the suite of {VERSION} must test the SDK it came with; {installed} is installed"
    tests = suite_tests_dir()
    ini = tmp_path / "pytest.ini"
    ini.write_text(SUITE_INI, encoding="utf-8")
    junit = tmp_path / "suite.xml"
    server = start_smsgrid(tmp_path / "smsgrid", config=f'[resource]\nphone_numbers = ["{SENDER}"]\n')
    try:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "AZURE_")) and key not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
        }
        env |= {
            "PYTHONPATH": str(HERE / "shim"),
            # The Azure SDK's live mode, without its recording proxy.
            "AZURE_TEST_RUN_LIVE": "true",
            "AZURE_SKIP_LIVE_RECORDING": "true",
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
            # What the suite reads (tests/acs_sms_test_case.py): the resource and the number it owns.
            "COMMUNICATION_LIVETEST_STATIC_CONNECTION_STRING": server.connection_string,
            "SMS_PHONE_NUMBER": SENDER,
            # From a connection string the SDK always speaks HTTPS: trust smsgrid's self-signed certificate,
            # for requests (sync client) and for OpenSSL's default context (aiohttp, async client).
            "REQUESTS_CA_BUNDLE": str(server.cert_path),
            "SSL_CERT_FILE": str(server.cert_path),
        }
        command = [
            sys.executable, "-m", "pytest", str(tests), "-c", str(ini), "--rootdir", str(tests.parent),
            "-p", "no:smsgrid", "-p", "no:cacheprovider", "--junitxml", str(junit), "-q", "-rfE", "--tb=short",
        ]  # fmt: skip
        run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    finally:
        server.stop()
    if not junit.exists():
        pytest.fail(f"the suite did not run (exit {run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")

    results = outcomes(junit)
    summary = run.stdout[-6000:]
    assert len(results) == TESTS_IN_SUITE, (
        f"expected the {TESTS_IN_SUITE} tests of {VERSION}, ran {len(results)}:\n{summary}"
    )
    not_passing = {outcome.test_id: outcome for outcome in results if not outcome.passed}
    unexpected = [f"{o.test_id}\n  {o.message.strip()[:1500]}" for k, o in not_passing.items() if k not in NOT_PASSING]
    now_passing = [test_id for test_id in NOT_PASSING if test_id not in not_passing]
    assert not unexpected, "tests of the SDK's suite failed against smsgrid:\n" + "\n".join(unexpected)
    assert not now_passing, f"these pass now; take them out of NOT_PASSING: {now_passing}"
    for test_id, expected in NOT_PASSING.items():
        assert expected.failure in not_passing[test_id].message, (
            f"{test_id} fails, but not as NOT_PASSING says ({expected.failure!r}):\n{not_passing[test_id].message}"
        )
