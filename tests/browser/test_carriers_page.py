"""The Carriers page in a real headless Chromium, for a server with one `[[carrier.smpp]]` connection (issue 14).

The SMSC is Debian's Net::SMPP (tests/smsc/net_smpp_smsc.pl); the browser, the login and the console check are
test_ui.py's fixtures, imported here so both files use the same Chromium set-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from smsgrid.testing import SmsgridProcess
from tests.acceptance.test_smpp_carrier import CONNECTION, smpp_config, wait_bound
from tests.browser.test_ui import (  # noqa: F401 - pytest finds fixtures by their names in this module
    _chromium_installed,
    browser,
    console_errors,
    context,
    login,
    page,
    playwright,
    shot,
)
from tests.smsc.launch import SmscProcess, start_net_smpp_smsc

PASSWORD = "secret1"  # smpp_config's; it must never be shown back


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[SmscProcess]:
    with start_net_smpp_smsc(tmp_path / "netsmpp") as process:  # skipped without Net::SMPP, failed under CI=true
        yield process


@pytest.fixture
def smsgrid_config(smsc: SmscProcess) -> str:
    config = smpp_config(smsc.port)
    assert f'password = "{PASSWORD}"' in config  # the page below is checked for this very value
    return config


def test_the_carriers_page_shows_the_connection_bound_and_never_its_password(
    page: Page,  # noqa: F811 - test_ui.py's fixture, imported above
    smsgrid_server: SmsgridProcess,
    smsc: SmscProcess,
) -> None:
    wait_bound(smsgrid_server)
    login(page, smsgrid_server)
    page.click(".nav-item[href='/carriers']")
    expect(page).to_have_url(f"{smsgrid_server.base_url}/carriers")
    expect(page.get_by_role("heading", name="Carriers")).to_be_visible()

    row = page.locator("#carriers-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text(CONNECTION)
    expect(row.locator(".pill")).to_have_text("bound")
    expect(row).to_contain_text("transceiver")
    expect(row).to_contain_text("sending · receiving")
    expect(row.locator("td.mono").first).to_have_text("0/10")  # window in use / size
    assert smsc.count("bind_transceiver") == 1
    shot(page, "12-carriers")

    assert PASSWORD not in page.content()
    # Nor in what the page's live refresh fetches, nor in the admin API it shows.
    assert PASSWORD not in page.request.get("/carriers").text()
    assert PASSWORD not in page.request.get("/admin/carriers").text()
