"""The submit_sm fields that come from the ACS send options: registered_delivery and validity_period."""

from __future__ import annotations

from smsgrid.carrier.smpp.protocol import REGISTERED_DELIVERY_FINAL, REGISTERED_DELIVERY_NONE

# SMPP 3.4 §7.1.1.2: relative times hold at most 99 years; ACS allows 60-43,200 s, far inside.
_MAX_RELATIVE_SECONDS = 99 * 365 * 86400


def registered_delivery(enable_delivery_report: bool) -> int:
    """A receipt on the final outcome when the send asked for a delivery report, none otherwise."""
    return REGISTERED_DELIVERY_FINAL if enable_delivery_report else REGISTERED_DELIVERY_NONE


def relative_validity(seconds: int) -> str:
    """validity_period for *seconds* from now, in the relative form ``YYMMDDhhmmss000R`` (§7.1.1.2).

    The API's deliveryReportTimeoutInSeconds bounds how long smsgrid waits for a receipt; giving the SMSC the
    same validity makes it stop trying when smsgrid stops waiting, so a late delivery cannot follow a
    timeout report. Past a day, months count as 30 days and years as 365 (ACS's range stops at 12 hours).
    """
    if not 1 <= seconds <= _MAX_RELATIVE_SECONDS:
        raise ValueError(f"validity must be 1 s to 99 years, not {seconds} s")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    years, days = divmod(days, 365)
    months, days = divmod(days, 30)
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"
