"""The carrier's plan under a report timeout, and the `segments_failed` rule key (docs/carrier.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.carrier.rules import CarrierDecision, plan_for
from smsgrid.errors import ConfigError
from smsgrid.settings import load_settings


def _decision(outcome: str = "Delivered", delay: float = 1.0) -> CarrierDecision:
    return CarrierDecision(outcome, 2000, delay, 1, None)


@given(
    delay=st.floats(min_value=0, max_value=86_400),
    timeout=st.none() | st.integers(min_value=1, max_value=43_200),
    scale=st.sampled_from([1.0, 0.001, 10.0]),
    outcome=st.sampled_from(["Delivered", "Failed", "NoReport"]),
)
def test_the_report_comes_at_the_earlier_of_the_carrier_and_the_timeout(
    delay: float, timeout: int | None, scale: float, outcome: str
) -> None:
    plan = plan_for(_decision(outcome, delay), now=100.0, scaled=lambda s: s * scale, report_timeout_seconds=timeout,
                    partner=None)  # fmt: skip
    carrier_at = 100.0 + delay * scale
    if timeout is None:
        assert (plan.due_at, plan.times_out) == (carrier_at, False)
        return
    timeout_at = 100.0 + timeout * scale
    late = outcome == "NoReport" or carrier_at > timeout_at
    assert plan.times_out is late
    assert plan.due_at == (timeout_at if late else carrier_at)


def test_a_partner_send_gets_a_partner_message_id_and_others_none() -> None:
    plain = plan_for(_decision(), now=0.0, scaled=float, report_timeout_seconds=None, partner=None)
    first = plan_for(_decision(), now=0.0, scaled=float, report_timeout_seconds=None, partner="Connect_Partner")
    second = plan_for(_decision(), now=0.0, scaled=float, report_timeout_seconds=None, partner="Connect_Partner")
    assert plain.partner_message_id is None
    assert first.partner_message_id is not None
    assert first.partner_message_id.startswith("Connect_Partner-")
    assert first.partner_message_id != second.partner_message_id


def test_segments_failed_is_read_from_a_rule(tmp_path: Path) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text('[[carrier.rules]]\nto = "+1206*"\nsegments_failed = 2\n')
    [rule] = load_settings(config, env={}).carrier.rules
    assert rule.segments_failed == 2
    assert load_settings(None, env={}).carrier.rules == ()


@pytest.mark.parametrize("value", ["0", "256", '"one"', "true"])
def test_segments_failed_must_be_a_count_of_segments(tmp_path: Path, value: str) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(f'[[carrier.rules]]\nto = "+1206*"\nsegments_failed = {value}\n')
    with pytest.raises(ConfigError, match=r"carrier\.rules\[0\]\.segments_failed"):
        load_settings(config, env={})
