"""CI's short receiver outage: 503 for five retry steps, then down for five, then back (SPEC §3).

Everything arrives; every `aeg-delivery-count` the receiver saw is an attempt the admin API recorded with the
same status; TTL expiry and max attempts end in TimeToLiveExceeded / MaxDeliveryAttemptsExceeded dead letters.
"""

from __future__ import annotations

from pathlib import Path

from reliability.receiver_outage import FAILED_STEPS, run_receiver_outage


def test_an_outage_across_five_retry_steps_loses_nothing_and_dead_letters_what_must_die(tmp_path: Path) -> None:
    figures = run_receiver_outage(tmp_path, events=4, dead_letters=2)
    assert figures.events == 4
    assert figures.arrived == figures.events, figures.problems
    assert figures.count_mismatches == 0, figures.problems
    assert figures.min_failed_attempts >= FAILED_STEPS
    assert figures.ttl_dead_letters == 2, figures.problems
    assert figures.max_attempt_dead_letters == 2, figures.problems
    assert figures.dead_letter_blobs == 4
    assert figures.dead_letter_problems == 0, figures.problems
