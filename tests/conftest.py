"""Fixtures shared by every test folder (the smsgrid pytest plugin brings the server fixtures itself)."""

import os

from hypothesis import HealthCheck, settings

from tests.postgres_support import postgres_cluster

# Every smsgrid these tests start inherits this: they send far more than ACS's 200 messages a minute from one
# number, to test the engine. The tests of throttling itself turn it back on (start_smsgrid(throttling=True)).
os.environ.setdefault("SMSGRID_THROTTLING", "off")

# `make test` runs under coverage (several times slower per line) on a machine shared with the servers the tests
# start: Hypothesis's wall-clock checks (the 200 ms deadline, "input generation is slow") then fail laws that
# hold. The laws and the number of examples stay the same; only the timing checks are off in CI.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("CI"):
    settings.load_profile("ci")

__all__ = ["postgres_cluster"]
