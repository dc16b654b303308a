"""A hanging and a dead endpoint beside a healthy one: every healthy event still arrives (SPEC §3).

The rate comparison (healthy alone vs beside them, goal >= 90 %) is a figure of `python -m reliability`, not a
pass/fail test: this machine is shared and timing asserts would be flaky.
"""

from __future__ import annotations

from pathlib import Path

from reliability.slow_endpoints import measure_healthy_rate


def test_every_healthy_event_arrives_beside_a_hanging_and_a_dead_endpoint(tmp_path: Path) -> None:
    run, counts = measure_healthy_rate(tmp_path, events=300, with_faulty=True)
    assert run.events == 300
    assert run.arrived == run.events
    # The faulty endpoints were really tried: timed out (hanging) and refused (dead).
    assert counts.hanging_attempts > 0
    assert counts.dead_attempts > 0
    # Regression: a pump on probation used to spin on its set wake-up event and swallow the cancellation, so
    # the server never exited on SIGTERM beside a dead endpoint (found by this suite; engine.py _run/_sleep).
    assert counts.clean_shutdown, "the server did not exit on SIGTERM"
