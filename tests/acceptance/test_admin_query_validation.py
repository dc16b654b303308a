"""Admin list parameters are checked, not guessed (docs/admin-api.md, /openapi.json).

`before` is an event `seq` and `includeRedelivered` is `true` or `false`; anything else is a 400 in Azure's error
shape naming the parameter. Before, `?before=true` was ignored (the newest page came back, as if no cursor was
given) and `includeRedelivered=yes` quietly meant false.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smsgrid.testing import SmsgridProcess, start_smsgrid
from smsgrid.testing.plugin import inbound

OWNED = "+18005550100"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    process = start_smsgrid(tmp_path_factory.mktemp("smsgrid"))
    try:
        for n in range(3):
            inbound(process, f"+1425555810{n}", OWNED, f"event {n}")
        yield process
    finally:
        process.stop()


def _get(server: SmsgridProcess, path: str, **params: str) -> Any:
    with server.admin() as admin:
        return admin.get(path, params=params)


@pytest.mark.parametrize("before", ["true", "abc", "-1", "1.5", "", " 1", "+1", "１", "9223372036854775808", "%00"])
def test_a_before_that_is_not_a_seq_is_a_400(server: SmsgridProcess, before: str) -> None:
    response = _get(server, "/admin/events", before=before)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert "before" in error["message"]


def test_before_pages_back_by_seq(server: SmsgridProcess) -> None:
    newest = _get(server, "/admin/events", limit="1").json()["value"]
    assert len(newest) == 1
    seq = newest[0]["seq"]
    older = _get(server, "/admin/events", before=str(seq)).json()["value"]
    assert older, "the module's inbound messages made at least three events"
    assert all(event["seq"] < seq for event in older)
    assert _get(server, "/admin/events", before="0").json()["value"] == []
    # The largest seq the document allows is a cursor like any other: everything is older.
    everything = _get(server, "/admin/events", before=str(2**63 - 1)).json()["value"]
    assert [event["seq"] for event in everything][:1] == [seq]


@pytest.mark.parametrize("flag", ["yes", "1", "TRUE", "False", "", "true "])
def test_include_redelivered_must_be_true_or_false(server: SmsgridProcess, flag: str) -> None:
    response = _get(server, "/admin/deadletters", includeRedelivered=flag)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert "includeRedelivered" in error["message"]


@pytest.mark.parametrize("flag", ["true", "false"])
def test_include_redelivered_true_or_false_is_answered(server: SmsgridProcess, flag: str) -> None:
    response = _get(server, "/admin/deadletters", includeRedelivered=flag)
    assert response.status_code == 200, response.text
    assert response.json() == {"value": []}
