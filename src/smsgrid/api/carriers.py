"""What the admin API (`GET /admin/carriers`), the web UI's Carriers page and `smsgrid carriers` show of the
carrier: which one carries the messages, and each SMPP connection's state (`Carrier.connections()`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal

from pydantic import Field

from smsgrid.api.models import Wire
from smsgrid.carrier.port import ConnectionStatus
from smsgrid.store.views import EpochSeconds

CarrierKind = Literal["smpp", "simulator"]


class CarrierConnection(Wire):
    """One carrier link (an `[[carrier.smpp]]` connection); counters since this process started."""

    name: str
    kind: str = Field(description='"smpp".')
    state: str = Field(description="connecting, bound, backing_off, bind_refused or stopped.")
    bind: str = Field(description="transceiver or transmitter_receiver.")
    sending: bool = Field(description="A message can be submitted on it now.")
    receiving: bool = Field(description="Receipts and handsets' messages can arrive on it now.")
    window_in_use: int = Field(alias="windowInUse", description="submit_sm awaiting their response.")
    window_size: int = Field(alias="windowSize")
    tps_limit: float = Field(alias="tpsLimit", description="submit_sm/s allowed now (lowered while throttled).")
    tps_configured: float = Field(alias="tpsConfigured")
    submitted_total: int = Field(alias="submittedTotal", description="submit_sm sent (parts).")
    throttled_total: int = Field(alias="throttledTotal", description="ESME_RTHROTTLED / ESME_RMSGQFUL answers.")
    unknown_outcomes_total: int = Field(
        alias="unknownOutcomesTotal", description="Submits whose answer was lost; never re-sent on their own."
    )
    receipts_total: int = Field(alias="receiptsTotal")
    inbound_total: int = Field(alias="inboundTotal")
    reconnects_total: int = Field(alias="reconnectsTotal")
    last_error: str | None = Field(None, alias="lastError")
    next_attempt_at: EpochSeconds | None = Field(None, alias="nextAttemptAt", description="While backing off.")
    since: EpochSeconds | None = Field(None, description="When it entered its state.")


class CarrierList(Wire):
    carrier: CarrierKind = Field(
        description="smpp: the `[[carrier.smpp]]` connections carry every message; simulator: none is configured."
    )
    dispatching: bool = Field(
        description="This process runs the carrier. False for `smsgrid serve --no-dispatch`: the connections live "
        "in the `smsgrid worker` processes, which this one cannot see, and `value` is empty here."
    )
    value: tuple[CarrierConnection, ...]


def connection_view(link: ConnectionStatus) -> CarrierConnection:
    # The port's fields by name; a field the port gains later is left out until the model names it.
    return CarrierConnection.model_validate({f.name: getattr(link, f.name) for f in fields(link)})


@dataclass(frozen=True, slots=True)
class CarrierOverview:
    """The HTTP layer's view of the carrier: what carries the messages and, where it runs, its connections."""

    kind: CarrierKind
    dispatching: bool
    connections: Callable[[], tuple[ConnectionStatus, ...]]

    def listing(self) -> CarrierList:
        links = self.connections() if self.dispatching else ()
        return CarrierList(
            carrier=self.kind, dispatching=self.dispatching, value=tuple(connection_view(link) for link in links)
        )


SIMULATOR_ONLY = CarrierOverview("simulator", True, lambda: ())
