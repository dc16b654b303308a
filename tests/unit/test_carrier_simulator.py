"""The simulated carrier behind the port: each rule outcome, as `submit` and `poll` answer it (docs/carrier.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgrid.carrier.port import Accepted, CarrierNews, OutboundSms, RecipientRefusal, Refused
from smsgrid.carrier.simulator import CarrierSimulator
from smsgrid.config import CarrierSettings, load_settings

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000.0
SENDER = "+18005550100"

RULES = """
[carrier]
delay_ms = 500

[[carrier.rules]]
to = "+12065550301"
delay_ms = 600000

[[carrier.rules]]
to = "+12065550303"
outcome = "NoReport"
reply = "thanks"

[[carrier.rules]]
to = "+12065550304"
attempts = 2
segments_failed = 1

[[carrier.rules]]
to = "+12065550305"
outcome = "Failed"
code = 4006
segments_failed = 1

[[carrier.rules]]
to = "+12065550306"
reply = "STOP"
delay_ms = 0

[[carrier.rules]]
to = "+1206555099?"
outcome = "ServiceUnavailable"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> CarrierSettings:
    path = tmp_path / "smsgrid.toml"
    path.write_text(RULES)
    return load_settings(path, env={}).carrier


@pytest.fixture
def simulator(settings: CarrierSettings) -> CarrierSimulator:
    return CarrierSimulator(settings, scaled=lambda seconds: seconds)


def message(to: str, *, segments: int = 1, timeout: int | None = None, sender: str = SENDER) -> OutboundSms:
    return OutboundSms(
        message_id=f"Outgoing_{to}",
        from_number=sender,
        to_number=to,
        body="hi",
        encoding="GSM7",
        segments=segments,
        delivery_report=True,
        report_timeout_seconds=timeout,
        tag=None,
        created_at=T0,
    )


async def answer(simulator: CarrierSimulator, sms: OutboundSms, *, after: float | None = None) -> CarrierNews:
    outcome = await simulator.submit(sms)
    assert isinstance(outcome, Accepted)
    assert outcome.reference == sms.message_id
    assert outcome.news_at is not None
    return await simulator.poll(sms, outcome.reference, outcome.news_at if after is None else T0 + after)


def test_refused_at_accept_time_by_magic_number_and_by_rule(simulator: CarrierSimulator) -> None:
    assert simulator.refusal("+15005550503") == RecipientRefusal(503, "ServiceUnavailable")
    assert simulator.refusal("+12065550991") == RecipientRefusal()
    assert simulator.refusal("+14255550123") is None


async def test_a_refused_recipient_that_still_reaches_submit_fails(simulator: CarrierSimulator) -> None:
    # Only after a restart with other rules: the 202 accepted it, the carrier refuses now.
    assert await simulator.submit(message("+15005550503")) == Refused(5000)


async def test_an_ordinary_number_is_delivered_after_the_delay(simulator: CarrierSimulator) -> None:
    sms = message("+14255550123", segments=3)
    outcome = await simulator.submit(sms)
    assert outcome == Accepted(sms.message_id, news_at=T0 + 0.5)
    assert await simulator.poll(sms, sms.message_id, T0 + 0.4) == CarrierNews()  # not yet
    news = await simulator.poll(sms, sms.message_id, T0 + 0.5)
    assert news.report is not None
    assert (news.report.status, news.report.code, news.report.reference) == ("Delivered", 2000, sms.message_id)
    assert [(a.succeeded, a.failed) for a in news.report.attempts] == [(3, 0)]
    assert T0 < news.report.attempts[0].at < T0 + 0.5
    assert (news.silent, news.reply) == (False, None)


@pytest.mark.parametrize(("to", "code"), [("+15005554005", 4005), ("+15005555001", 5001), ("+15005552000", 2000)])
async def test_magic_numbers_give_their_code(simulator: CarrierSimulator, to: str, code: int) -> None:
    news = await answer(simulator, message(to))
    assert news.report is not None
    assert (news.report.code, news.report.status) == (code, "Delivered" if code == 2000 else "Failed")


async def test_the_silent_magic_number_never_reports(simulator: CarrierSimulator) -> None:
    news = await answer(simulator, message("+15005550000"))
    assert (news.report, news.silent, news.reply) == (None, True, None)


async def test_no_report_with_a_reply(simulator: CarrierSimulator) -> None:
    news = await answer(simulator, message("+12065550303"))
    assert (news.report, news.silent) == (None, True)
    assert news.reply is not None
    assert (news.reply.from_number, news.reply.to_number, news.reply.text) == ("+12065550303", SENDER, "thanks")


async def test_a_reply_is_never_sent_to_an_alphanumeric_sender(simulator: CarrierSimulator) -> None:
    news = await answer(simulator, message("+12065550306", sender="CONTOSO"))
    assert news.report is not None
    assert news.reply is None
    assert (await answer(simulator, message("+12065550306"))).reply is not None


async def test_a_failed_attempt_may_fail_only_some_segments(simulator: CarrierSimulator) -> None:
    retried = await answer(simulator, message("+12065550304", segments=3))
    assert retried.report is not None
    assert [(a.succeeded, a.failed) for a in retried.report.attempts] == [(2, 1), (3, 0)]
    assert retried.report.status == "Delivered"
    failed = await answer(simulator, message("+12065550305", segments=3))
    assert failed.report is not None
    assert (failed.report.status, failed.report.code) == ("Failed", 4006)
    assert [(a.succeeded, a.failed) for a in failed.report.attempts] == [(2, 1)]


async def test_a_report_later_than_the_timeout_is_not_made(simulator: CarrierSimulator) -> None:
    late = message("+12065550301", timeout=60)
    outcome = await simulator.submit(late)
    assert isinstance(outcome, Accepted)
    assert outcome.news_at == T0 + 60  # asked at the timeout: the core makes the timeout report
    assert await simulator.poll(late, late.message_id, T0 + 60) == CarrierNews()
    on_time = await answer(simulator, message("+12065550301"))  # no timeout: the report after 10 minutes
    assert on_time.report is not None


async def test_a_silent_carrier_with_a_timeout_answers_with_its_reply_at_the_timeout(
    simulator: CarrierSimulator,
) -> None:
    sms = message("+12065550303", timeout=60)
    news = await answer(simulator, sms)
    assert news.reply is not None
    assert news.report is None


async def test_a_messaging_connect_send_gets_a_partner_message_id(simulator: CarrierSimulator) -> None:
    sms = message("+14255550123")
    partnered = OutboundSms(**{**{f: getattr(sms, f) for f in sms.__slots__}, "partner": "Connect_Partner"})
    outcome = await simulator.submit(partnered)
    assert isinstance(outcome, Accepted)
    assert outcome.partner_message_id is not None
    assert outcome.partner_message_id.startswith("Connect_Partner-")
    plain = await simulator.submit(sms)
    assert isinstance(plain, Accepted)
    assert plain.partner_message_id is None


async def test_delays_follow_the_time_scale(settings: CarrierSettings) -> None:
    fast = CarrierSimulator(settings, scaled=lambda seconds: seconds * 0.001)
    outcome = await fast.submit(message("+14255550123"))
    assert isinstance(outcome, Accepted)
    assert outcome.news_at == pytest.approx(T0 + 0.0005)


async def test_start_and_stop_need_nothing(simulator: CarrierSimulator) -> None:
    class Sink:
        async def delivery_report(self, report: object) -> None:
            raise AssertionError("the simulator pushes nothing")

        async def inbound(self, message: object) -> None:
            raise AssertionError("the simulator pushes nothing")

    await simulator.start(Sink())
    news = await answer(simulator, message("+14255550123"))
    await simulator.stop()
    assert news.report is not None
