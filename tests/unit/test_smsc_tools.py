"""The pure pieces of the test SMSCs (tests/smsc/wire.py, fault_smsc.Scenario) and of the SMPP benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest
import smpp34
from benchmarks import smpp as smpp_bench

from smsgrid.config.loader import read_settings
from tests.smsc import wire
from tests.smsc.fault_smsc import Scenario
from tests.smsc.launch import SmscProcess


def test_a_hand_framed_pdu_has_its_header_fields_back() -> None:
    data = wire.pdu(wire.SUBMIT_SM | wire.RESPONSE, 7, wire.message_id_body("ABC"), status=0x58)
    assert wire.header_of(data) == (16 + 4, 0x80000004, 0x58, 7)
    assert wire.read_cstring(data, 16) == ("ABC", 20)


def test_a_bind_body_parses_back_and_smpp34_reads_our_submit_header() -> None:
    assert wire.parse_bind(wire.bind_body("smsgrid", "pw", "VMA")) == wire.Bind("smsgrid", "pw", "VMA")
    encoded = smpp34.SubmitSm("1", "2", b"x", sequence_number=9).encode()
    assert wire.header_of(encoded)[1:] == (wire.SUBMIT_SM, 0, 9)
    assert wire.command_name(wire.DELIVER_SM | wire.RESPONSE) == "deliver_sm_resp"
    assert wire.command_name(0x99) == "0x00000099"


def test_a_missing_nul_ends_a_string_at_the_body_end() -> None:
    assert wire.read_cstring(b"abc", 0) == ("abc", 3)


def test_tlvs_parse_back_and_a_truncated_one_is_dropped() -> None:
    data = wire.tlv(0x001E, b"12\0") + wire.tlv(0x0427, b"\x02") + b"\x02\x0c\x00"
    assert wire.parse_tlvs(data) == {0x001E: b"12\0", 0x0427: b"\x02"}


def test_message_ids_in_either_base() -> None:
    assert wire.message_id_text(100001000, "decimal") == "100001000"
    assert wire.message_id_text(100001000, "hex") == "5F5E4E8"


def test_receipt_text_follows_appendix_b_with_printable_text_only() -> None:
    text = wire.receipt_text("5F5E4E8", "UNDELIV", "001", b"caf\xc3\xa9 and more than twenty", "2612021300")
    assert text == (
        b"id:5F5E4E8 sub:001 dlvrd:000 submit date:2612021300 done date:2612021300 stat:UNDELIV err:001 "
        b"text:caf.. and more than "
    )
    assert b"dlvrd:001" in wire.receipt_text("1", "DELIVRD", "000", b"", "2612021300")


def test_udh_is_stripped_only_when_the_esm_class_says_so() -> None:
    (part,) = wire.concatenated([b"hi"], reference=0x1FF)
    assert part == bytes([5, 0, 3, 0xFF, 1, 1]) + b"hi"
    assert wire.without_udh(part, 0x40) == b"hi"
    assert wire.without_udh(part, 0x00) == part


def test_a_spool_file_round_trips_and_is_written_atomically(tmp_path: Path) -> None:
    mo = wire.SpoolMo(
        "447700900123",
        "447700900456",
        "6869",
        data_coding=8,
        udh_hex="0500030a0201",
        tlvs=[{"tag": 0x020C, "value_hex": "0001"}],
    )
    path = wire.write_spool_file(tmp_path, "one", mo)
    assert [p.name for p in tmp_path.iterdir()] == ["one.json"]
    back = wire.SpoolMo.from_json(path.read_text())
    assert back == mo
    assert back.short_message() == bytes.fromhex("0500030a0201") + b"hi"
    assert back.full_esm_class() == 0x40
    assert back.tlv_pairs() == [(0x020C, b"\x00\x01")]
    plain = wire.SpoolMo("1", "2", "00")
    assert "udh_hex" not in plain.to_json()
    assert plain.full_esm_class() == 0


def test_a_scenario_parses_from_the_command_line() -> None:
    scenario = Scenario.parse(
        [
            "throttle_every=3",
            "refuse_bind=0x0E",
            "throttle_seconds=1.5",
            "receipts=false",
            "ids=hex",
            "garbage_after_bind=unknown_command,bad_length",
        ]
    )
    assert scenario == Scenario(
        throttle_every=3,
        refuse_bind=0x0E,
        throttle_seconds=1.5,
        receipts=False,
        ids="hex",
        garbage_after_bind=("unknown_command", "bad_length"),
    )


@pytest.mark.parametrize("items", [["no_such=1"], ["ids=octal"], ["receipt_stat=GONE"], ["garbage_after_bind=noise"]])
def test_a_wrong_scenario_is_refused(items: list[str]) -> None:
    with pytest.raises(ValueError, match=r"unknown|ids is|receipt_stat"):
        Scenario.parse(items)


# ---- benchmarks/smpp.py's pure pieces ----------------------------------------------------------------------------


def test_the_benchmark_config_is_one_that_smsgrid_reads(tmp_path: Path) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(smpp_bench.smsgrid_config(2775, binds=4))
    settings = read_settings(config, data_dir=tmp_path, env={})
    assert [c.name for c in settings.carrier.smpp] == ["bench-1", "bench-2", "bench-3", "bench-4"]
    assert {(c.port, c.window) for c in settings.carrier.smpp} == {(2775, smpp_bench.WINDOW)}
    assert settings.throttling.enabled is False


def test_kannel_binds_as_many_instances_as_asked_with_the_window() -> None:
    text = smpp_bench.kannel_config(Path("/tmp/k"), 2775, 4, {"admin": 1, "smsbox": 2, "sendsms": 3})
    assert "instances = 4" in text
    assert f"max-pending-submits = {smpp_bench.WINDOW}" in text
    assert 'system-type = ""' in text  # Kannel's smpp driver panics without it


def _leg(sender: str, binds: int, submits: float, receipts: float) -> dict[str, object]:
    return {"sender": sender, "binds": binds, "submits_per_s": submits, "receipts_per_s": receipts}


def test_ratios_divide_rates_of_the_same_bind_count_and_leave_out_missing_legs() -> None:
    legs = {
        "ceiling_1": _leg("ceiling", 1, 2000.0, 1000.0),
        "kannel_1": _leg("kannel", 1, 1000.0, 500.0),
        "smsgrid_1": _leg("smsgrid", 1, 500.0, 500.0),
        "ceiling_4": _leg("ceiling", 4, 4000.0, 4000.0),
    }
    found = smpp_bench.ratios(legs)
    assert found["smsgrid_to_kannel_1_submits_per_s"] == 0.5
    assert found["smsgrid_to_kannel_1_receipts_per_s"] == 1.0
    assert found["kannel_to_ceiling_1_submits_per_s"] == 0.5
    assert found["smsgrid_to_ceiling_1_receipts_per_s"] == 0.5
    assert not any(key.endswith(("_4_submits_per_s", "_4_receipts_per_s")) for key in found)


def test_a_pdu_log_line_still_being_written_is_not_read_yet(tmp_path: Path) -> None:
    log = tmp_path / "pdus.jsonl"
    log.write_text('{"dir": "in", "command": "submit_sm", "seq": 1}\n{"dir": "in", "command": "subm')
    smsc = SmscProcess(proc=None, port=0, log_path=log, spool=tmp_path, stderr_path=tmp_path / "e")  # type: ignore[arg-type]
    assert [p["seq"] for p in smsc.pdus("submit_sm")] == [1]
