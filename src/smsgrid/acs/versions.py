"""THE table: every api-version of the ACS SMS data plane, the operations it defines and their shapes.

Source: Azure/azure-rest-api-specs `specification/communication/data-plane/Sms/{stable,preview}/<version>/
communicationservicessms.json` (newest copy of each). Routing (`api/data_plane.py`), request validation
(`validation.py`) and the data-plane part of `/openapi.json` (`openapi.py`) read only this table.

Folders deliberately not served (docs/api-versions.md says why): `2020-07-20-preview1` (single-recipient shape
answered 200, retired with the 1.0.0b SDKs), `2023-05-14-privatepreview`, `2023-06-30-privatepreview` (private
previews) and the `/sms/opt/in|out` file of `2024-01-21-preview` (an abandoned opt-out shape; its send is served).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from smsgrid.acs.models import (
    ConnectShape,
    DeliveryReportShape,
    IntRange,
    MmsShape,
    SendOptionsShape,
    SendShape,
)


class Operation(StrEnum):
    SEND = "Sms_Send"
    OPTOUTS_ADD = "OptOuts_Add"
    OPTOUTS_REMOVE = "OptOuts_Remove"
    OPTOUTS_CHECK = "OptOuts_Check"
    DELIVERY_REPORT = "DeliveryReports_Get"
    MMS_SEND = "Mms_Send"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # Starlette template
    operation: Operation
    # Only these versions have this path (None: every version with the operation).
    only_versions: frozenset[str] | None = None


# 2024-12-10-preview's swagger spells the opt-out paths `/sms/optouts/:add`; the SDKs built on it call
# `/sms/optouts:add` (azure-sdk-for-js optOuts.ts), so that version has both spellings, every later one the colon only.
SLASH_OPTOUT_VERSIONS = frozenset({"2024-12-10-preview"})
_OPTOUT_ACTIONS = (("add", Operation.OPTOUTS_ADD), ("remove", Operation.OPTOUTS_REMOVE),
                   ("check", Operation.OPTOUTS_CHECK))  # fmt: skip

# Every path any version defines.
ROUTES: tuple[Route, ...] = (
    Route("POST", "/sms", Operation.SEND),
    *(Route("POST", f"/sms/optouts:{action}", op) for action, op in _OPTOUT_ACTIONS),
    *(Route("POST", f"/sms/optouts/:{action}", op, SLASH_OPTOUT_VERSIONS) for action, op in _OPTOUT_ACTIONS),
    Route("GET", "/deliveryReports/{outgoingMessageId}", Operation.DELIVERY_REPORT),
    Route("POST", "/mms", Operation.MMS_SEND),
)

# ---- the shapes, each named after the first version that published it ----------------------------------------

_BASIC = SendShape("SendRequest_2021_03_07", SendOptionsShape())
# 2022-07-07: "maximum time in seconds to receive a delivery report, its default is 18000 seconds and minimum is
# 1 second" (no maximum in the swagger).
_VALIDITY_2022 = SendShape(
    "SendRequest_2022_07_07",
    SendOptionsShape(validity_period=IntRange(1, None), validity_period_default=18000),
)
# 2024-02-05: validityPeriodSeconds minimum 60, maximum 43200, no default.
_VALIDITY_2024 = SendShape("SendRequest_2024_02_05", SendOptionsShape(validity_period=IntRange(60, 43200)))
_TIMEOUT = SendShape("SendRequest_2024_02_05_preview", SendOptionsShape(report_timeout=IntRange(60, 43200)))
_CONNECT_API_KEY = SendShape(
    "SendRequest_2025_05_29_preview",
    SendOptionsShape(report_timeout=IntRange(60, 43200), messaging_connect=ConnectShape.API_KEY),
)
_CONNECT_PARAMS = SendShape(
    "SendRequest_2026_01_23",
    SendOptionsShape(report_timeout=IntRange(60, 43200), messaging_connect=ConnectShape.PARTNER_PARAMS),
)
_MMS = MmsShape("MmsSendRequest_2024_01_14_preview")
# 2025-08-01-preview's enum lists Pending and Unknown too; 2026-01-23 only Delivered and Failed.
_REPORT_PREVIEW = DeliveryReportShape(
    "DeliveryReport_2025_08_01_preview", ("Pending", "Delivered", "Failed", "Unknown"), partner_message_id=False
)
_REPORT_2026 = DeliveryReportShape("DeliveryReport_2026_01_23", ("Delivered", "Failed"), partner_message_id=True)


@dataclass(frozen=True, slots=True)
class ApiVersion:
    name: str
    stable: bool
    send: SendShape
    optouts: bool = False
    delivery_report: DeliveryReportShape | None = None
    mms: MmsShape | None = None
    operations: frozenset[Operation] = field(init=False)

    def __post_init__(self) -> None:
        ops = {Operation.SEND}
        if self.optouts:
            ops |= {Operation.OPTOUTS_ADD, Operation.OPTOUTS_REMOVE, Operation.OPTOUTS_CHECK}
        if self.delivery_report is not None:
            ops.add(Operation.DELIVERY_REPORT)
        if self.mms is not None:
            ops.add(Operation.MMS_SEND)
        object.__setattr__(self, "operations", frozenset(ops))


VERSIONS: dict[str, ApiVersion] = {
    v.name: v
    for v in (
        ApiVersion("2021-01-29", stable=True, send=_BASIC),
        ApiVersion("2021-03-07", stable=True, send=_BASIC),
        ApiVersion("2022-07-07", stable=True, send=_VALIDITY_2022),
        ApiVersion("2024-01-02", stable=True, send=_BASIC),
        ApiVersion("2024-01-14-preview", stable=False, send=_BASIC, mms=_MMS),
        ApiVersion("2024-01-21-preview", stable=False, send=_BASIC),
        ApiVersion("2024-02-05", stable=True, send=_VALIDITY_2024),
        ApiVersion("2024-02-05-preview", stable=False, send=_TIMEOUT),
        ApiVersion("2024-12-10-preview", stable=False, send=_TIMEOUT, optouts=True),
        ApiVersion("2025-05-29-preview", stable=False, send=_CONNECT_API_KEY, optouts=True),
        ApiVersion(
            "2025-08-01-preview", stable=False, send=_CONNECT_API_KEY, optouts=True, delivery_report=_REPORT_PREVIEW
        ),
        ApiVersion("2025-09-17", stable=True, send=_CONNECT_API_KEY, optouts=True),
        ApiVersion("2026-01-23", stable=True, send=_CONNECT_PARAMS, optouts=True, delivery_report=_REPORT_2026),
    )
}

LATEST = "2026-01-23"


def versions_with(operation: Operation) -> tuple[str, ...]:
    """The versions defining `operation`, oldest first."""
    return tuple(name for name, v in sorted(VERSIONS.items()) if operation in v.operations)


def send_shapes() -> dict[str, SendShape]:
    """Each distinct send shape once, by component name."""
    return {v.send.name: v.send for v in VERSIONS.values()}


def markdown_table() -> str:
    """The table as docs/api-versions.md shows it (a unit test keeps the document equal to this)."""
    lines = [
        "| api-version | kind | operations | `smsSendOptions` beyond `enableDeliveryReport`, `tag` "
        "| delivery report GET |",
        "|---|---|---|---|---|",
    ]
    for name, v in sorted(VERSIONS.items()):
        ops = ["send"]
        if v.optouts:
            ops.append("opt-outs add/remove/check")
        if v.delivery_report is not None:
            ops.append("delivery report")
        if v.mms is not None:
            ops.append("MMS send")
        o = v.send.options
        fields = []
        if o.validity_period is not None:
            text = f"`validityPeriodSeconds` {o.validity_period.describe()}"
            if o.validity_period_default is not None:
                text += f", default {o.validity_period_default}"
            fields.append(text)
        if o.report_timeout is not None:
            fields.append(f"`deliveryReportTimeoutInSeconds` {o.report_timeout.describe()}")
        if o.messaging_connect is ConnectShape.API_KEY:
            fields.append("`messagingConnect {apiKey, partner}`")
        elif o.messaging_connect is ConnectShape.PARTNER_PARAMS:
            fields.append("`messagingConnect {partner, partnerParams}`")
        report = "—"
        if v.delivery_report is not None:
            report = "status " + "/".join(v.delivery_report.statuses)
            if v.delivery_report.partner_message_id:
                report += ", `messagingConnectPartnerMessageId`"
        kind = "stable" if v.stable else "preview"
        lines.append(f"| `{name}` | {kind} | {', '.join(ops)} | {'; '.join(fields) or '—'} | {report} |")
    return "\n".join(lines) + "\n"
