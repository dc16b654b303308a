"""Event subscriptions: create/update with a handshake first, read back without secrets, delete, load at start."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from smsgrid.clock import Clock
from smsgrid.delivery.destinations.send import destination_config_problem
from smsgrid.delivery.handshake import run_handshake
from smsgrid.delivery.registry import AWAITING_MANUAL_ACTION, FAILED, SUCCEEDED, SubscriptionRegistry
from smsgrid.delivery.subscription_spec import (
    StaticDeliveryAttribute,
    SubscriptionSpec,
    WebhookDestination,
    format_expiration,
    parse_subscription_spec,
    spec_from_storage_dict,
    spec_to_public_dict,
    spec_to_storage_dict,
)
from smsgrid.delivery.transport import Transport
from smsgrid.errors import Conflict, InvalidRequest, Problem, SubscriptionSpecError
from smsgrid.store.port import Store
from smsgrid.store.records import SubscriptionRecord

if TYPE_CHECKING:
    from smsgrid.delivery.engine import DeliveryEngine

log = logging.getLogger("smsgrid.subscriptions")

# Event Grid keeps a manual validation URL valid for 10 minutes (end-point-validation-event-grid-events-schema).
MANUAL_VALIDATION_WINDOW_SECONDS = 600.0
# ARM's transitional provisioning states (EventSubscriptionProvisioningState): shown while a PUT's handshake or a
# DELETE is under way.
CREATING, UPDATING, DELETING = "Creating", "Updating", "Deleting"


class SubscriptionService:
    def __init__(
        self,
        *,
        store: Store,
        registry: SubscriptionRegistry,
        transport: Transport,
        clock: Clock,
        engine: DeliveryEngine,
        topic: str,
        base_url: str,
        entra_tenant_id: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.transport = transport
        self.clock = clock
        self.engine = engine
        self.topic = topic
        self.base_url = base_url.rstrip("/")
        self.entra_tenant_id = entra_tenant_id
        self._background: set[asyncio.Task[Any]] = set()
        # Subscriptions with an operation under way in this process: the spec being validated and ARM's
        # transitional state (Creating, Updating, Deleting), shown by GET until the operation ends.
        self._pending: dict[str, tuple[SubscriptionSpec, str]] = {}

    def validation_url(self, name: str, code: str) -> str:
        return f"{self.base_url}/eventsubscriptions/{name}/validate?code={code}"

    async def put(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            spec = parse_subscription_spec(name, body)
            self._check_for_create(spec, base="properties." if "properties" in body else "")
        except SubscriptionSpecError as exc:
            raise InvalidRequest("InvalidRequest", str(exc)) from None
        settings = self.engine.settings
        problem = destination_config_problem(spec.destination, settings.storage_accounts, settings.function_apps)
        if problem is not None:
            raise InvalidRequest("InvalidRequest", f"Event subscription {name!r} cannot be used: {problem}")
        await self._refuse_case_twin(spec.name)
        record, reason = await self._validate_and_store(spec, check_case=True)
        return self._public(record, reason)

    def _check_for_create(self, spec: SubscriptionSpec, base: str = "") -> None:
        """What the spec alone cannot tell: an expiry already past, an Entra tenant smsgrid does not issue for."""
        problems: list[Problem] = []
        expiry = spec.expiration_time_utc
        if expiry is not None and expiry.timestamp() <= self.clock.now():
            problems.append(
                Problem(
                    f"{base}expirationTimeUtc",
                    f"{format_expiration(expiry)} is not in the future; give a later UTC moment or leave it out",
                )
            )
        destination = spec.destination
        tenant = destination.azure_active_directory_tenant_id if isinstance(destination, WebhookDestination) else None
        if tenant is not None and self.entra_tenant_id is not None and tenant != self.entra_tenant_id:
            problems.append(
                Problem(
                    f"{base}destination.properties.azureActiveDirectoryTenantId",
                    f"{tenant} is not smsgrid's Entra tenant {self.entra_tenant_id}; smsgrid's issuer signs tokens "
                    "for its one tenant ([entra] tenant_id, docs/entra.md)",
                )
            )
        if problems:
            raise SubscriptionSpecError(f"Event subscription {spec.name!r} cannot be used", problems)

    async def _refuse_case_twin(self, name: str) -> None:
        """Azure resource names are case-insensitive, and Event Grid writes the name upper-cased (dead-letter
        blob path, aeg-subscription-name): `case-x` and `CASE-X` would share a dead-letter folder and look alike
        to receivers. A second name that differs only by case is refused (docs/differences-from-azure.md)."""
        folded = name.casefold()
        for record in await self.store.list_subscriptions():
            if record.name != name and record.name.casefold() == folded:
                raise Conflict(
                    f"Event subscription {record.name!r} exists; names that differ only by case are the same "
                    f"(Azure resource names are case-insensitive). Use {record.name!r} to update it, or choose "
                    "another name.",
                )

    async def _validate_and_store(
        self, spec: SubscriptionSpec, *, check_case: bool = False
    ) -> tuple[SubscriptionRecord, str | None]:
        now = self.clock.now()
        code = secrets.token_urlsafe(24)
        existing = await self._stored(spec.name)
        self._pending[spec.name] = (spec, UPDATING if existing else CREATING)
        try:
            state, reason = await run_handshake(
                self.transport,
                spec,
                topic=self.topic,
                code=code,
                validation_url=self.validation_url(spec.name, code),
                now=now,
                authorization=await self.engine.authorization_for(spec),
            )
        finally:
            self._pending.pop(spec.name, None)
        if check_case:
            # Again after the handshake: another PUT may have created the twin meanwhile.
            await self._refuse_case_twin(spec.name)
        existing = await self._stored(spec.name)
        record = SubscriptionRecord(
            name=spec.name,
            spec=spec_to_storage_dict(spec),
            provisioning_state=state,
            validation_code=code if state == AWAITING_MANUAL_ACTION else None,
            validation_deadline=now + self.clock.scaled(MANUAL_VALIDATION_WINDOW_SECONDS)
            if state == AWAITING_MANUAL_ACTION
            else None,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        await self.store.put_subscription(record)
        self.registry.set(spec, state)
        self.engine.sync()
        log.info("subscription %s: %s%s", spec.name, state, f" ({reason})" if reason else "")
        return record, reason

    async def manual_validate(self, name: str, code: str) -> bool:
        record = await self._stored(name)
        if record is None or record.provisioning_state != AWAITING_MANUAL_ACTION or not record.validation_code:
            return False
        if not secrets.compare_digest(code, record.validation_code):
            return False
        now = self.clock.now()
        expired = record.validation_deadline is not None and now > record.validation_deadline
        state = FAILED if expired else SUCCEEDED
        await self._set_state(record, state, now)
        return state == SUCCEEDED

    async def _set_state(self, record: SubscriptionRecord, state: str, now: float) -> SubscriptionRecord:
        updated = SubscriptionRecord(
            name=record.name,
            spec=record.spec,
            provisioning_state=state,
            validation_code=None,
            validation_deadline=None,
            created_at=record.created_at,
            updated_at=now,
        )
        try:
            spec = spec_from_storage_dict(record.spec)
        except SubscriptionSpecError as exc:
            # Stored before today's rules refused it: it stays out of delivery whatever its state says.
            log.error("stored subscription %s cannot be used: %s", record.name, exc)
            updated = dataclasses.replace(updated, provisioning_state=FAILED)
            await self.store.put_subscription(updated)
            return updated
        await self.store.put_subscription(updated)
        self.registry.set(spec, state)
        self.engine.sync()
        return updated

    async def _expire(self, record: SubscriptionRecord) -> SubscriptionRecord:
        """An AwaitingManualAction subscription whose window passed is Failed (checked whenever it is read)."""
        now = self.clock.now()
        if (
            record.provisioning_state == AWAITING_MANUAL_ACTION
            and record.validation_deadline is not None
            and now > record.validation_deadline
        ):
            return await self._set_state(record, FAILED, now)
        return record

    async def _stored(self, name: str) -> SubscriptionRecord | None:
        for record in await self.store.list_subscriptions():
            if record.name == name:
                return record
        return None

    async def get(self, name: str) -> dict[str, Any] | None:
        record = await self._stored(name)
        if record is not None and self._has_expired(record):
            await self._delete_expired(record)
            record = None
        if record is None:
            pending = self._pending.get(name)
            return None if pending is None else self._pending_public(*pending)
        return self._public(await self._expire(record), None)

    async def list(self) -> list[dict[str, Any]]:
        shown: list[dict[str, Any]] = []
        stored = await self.store.list_subscriptions()
        for record in stored:
            if self._has_expired(record):
                await self._delete_expired(record)
            else:
                shown.append(self._public(await self._expire(record), None))
        names = {r.name for r in stored}
        shown += [self._pending_public(*p) for name, p in self._pending.items() if name not in names]
        return shown

    async def delete(self, name: str) -> bool:
        record = await self._stored(name)
        if record is not None:
            try:
                self._pending[name] = (spec_from_storage_dict(record.spec, strict=False), DELETING)
            except SubscriptionSpecError:
                pass
        try:
            deleted = await self.store.delete_subscription(name)
            self.registry.remove(name)
            self.engine.sync()
        finally:
            self._pending.pop(name, None)
        return deleted

    # ------------------------------------------------------------------------------- ARM's POST actions

    async def spec_of(self, name: str) -> SubscriptionSpec | None:
        record = await self._stored(name)
        if record is None or self._has_expired(record):
            return None
        return spec_from_storage_dict(record.spec, strict=False)

    async def full_url(self, name: str) -> dict[str, Any] | None:
        """ARM's `getFullUrl`: the whole endpoint URL, query and credentials included (GET shows only
        endpointBaseUrl)."""
        spec = await self.spec_of(name)
        if spec is None:
            return None
        # Only a webhook has an endpoint URL; ARM answers the others with none.
        destination = spec.destination
        return {"endpointUrl": destination.endpoint_url if isinstance(destination, WebhookDestination) else None}

    async def delivery_attributes(self, name: str) -> dict[str, Any] | None:
        """ARM's `getDeliveryAttributes`: every mapping, secret Static values included. ARM returns them to a
        caller allowed to run the action (`az eventgrid event-subscription show --include-attribute-secrets`
        uses it); here that is whoever holds the access key (docs/admin-api.md)."""
        spec = await self.spec_of(name)
        if spec is None:
            return None
        value: list[dict[str, Any]] = []
        for mapping in spec.destination.delivery_attribute_mappings:
            if isinstance(mapping, StaticDeliveryAttribute):
                props: dict[str, Any] = {"value": mapping.value, "isSecret": mapping.is_secret}
                value.append({"name": mapping.name, "type": "Static", "properties": props})
            else:
                value.append(
                    {"name": mapping.name, "type": "Dynamic", "properties": {"sourceField": mapping.source_field}}
                )
        return {"value": value}

    # -------------------------------------------------------------------------------------- expiration

    def _has_expired(self, record: SubscriptionRecord) -> bool:
        raw = record.spec.get("properties", {}).get("expirationTimeUtc")
        if not isinstance(raw, str):
            return False
        try:
            expiry = spec_from_storage_dict(record.spec, strict=False).expiration_time_utc
        except SubscriptionSpecError:
            return False
        return expiry is not None and expiry.timestamp() <= self.clock.now()

    async def _delete_expired(self, record: SubscriptionRecord) -> None:
        """Event Grid deletes an event subscription when its expirationTimeUtc passes (EventSubscription
        properties, expirationTimeUtc); its pending deliveries go with it, as with a DELETE."""
        if await self.store.delete_subscription(record.name):
            log.info(
                "subscription %s expired at %s and was deleted",
                record.name,
                record.spec["properties"].get("expirationTimeUtc"),
            )
        self.registry.remove(record.name)
        self.engine.sync()

    async def sweep_expired(self) -> int:
        """Delete every expired subscription; how many there were."""
        expired = [r for r in await self.store.list_subscriptions() if self._has_expired(r)]
        for record in expired:
            await self._delete_expired(record)
        return len(expired)

    def _pending_public(self, spec: SubscriptionSpec, state: str) -> dict[str, Any]:
        public = spec_to_public_dict(spec)
        public["properties"]["provisioningState"] = state
        public["properties"]["topic"] = self.topic
        public["health"] = self.engine.health_of(spec.name)
        return public

    def _public(self, record: SubscriptionRecord, reason: str | None) -> dict[str, Any]:
        state = record.provisioning_state
        try:
            spec = spec_from_storage_dict(record.spec)
        except SubscriptionSpecError as exc:
            # Stored by an earlier smsgrid that accepted what is refused now (issue 12): shown as Failed, with
            # why, instead of failing every listing; load() already keeps it out of delivery.
            spec = spec_from_storage_dict(record.spec, strict=False)
            state = FAILED
            reason = f"This subscription is no longer accepted; PUT it again with these fixed. {exc}"
        public = spec_to_public_dict(spec)
        pending = self._pending.get(record.name)
        if pending is not None and reason is None:
            state = pending[1]  # an update or delete of this subscription is under way
        public["properties"]["provisioningState"] = state
        public["properties"]["topic"] = self.topic
        if reason is not None:
            public["properties"]["provisioningMessage"] = reason
        health = self.engine.health_of(record.name)
        public["health"] = health
        return public

    async def load(self, configured: Mapping[str, Mapping[str, Any]]) -> None:
        """Stored subscriptions into the registry; config-file ones validated in the background if new or changed."""
        stored = {r.name: r for r in await self.store.list_subscriptions()}
        for record in stored.values():
            try:
                self.registry.set(spec_from_storage_dict(record.spec), record.provisioning_state)
            except SubscriptionSpecError as exc:
                log.error("stored subscription %s cannot be used: %s", record.name, exc)
        for name, body in configured.items():
            twins = sorted(
                other for other in {*stored, *configured} if other != name and other.casefold() == name.casefold()
            )
            if twins:
                # Names are case-insensitive (see _refuse_case_twin): neither spelling is guessed to be the one.
                log.error("config subscription %s cannot be used: its name differs only by case from %s", name, twins)
                continue
            try:
                spec = parse_subscription_spec(name, body)
                self._check_for_create(spec)
            except SubscriptionSpecError as exc:
                log.error("config subscription %s cannot be used: %s", name, exc)
                continue
            settings = self.engine.settings
            problem = destination_config_problem(spec.destination, settings.storage_accounts, settings.function_apps)
            if problem is not None:
                log.error("config subscription %s cannot be used: %s", name, problem)
                continue
            known = stored.get(name)
            if known and known.spec == spec_to_storage_dict(spec) and known.provisioning_state == SUCCEEDED:
                continue
            task = asyncio.create_task(self._validate_and_store(spec))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        self.engine.sync()

    async def refresh(self) -> None:
        """Bring the registry in line with the store: another process (PostgreSQL scale-out) created, changed or
        deleted subscriptions. Called on the `subscriptions` NOTIFY and every few seconds as a safety net."""
        stored = {r.name: r for r in await self.store.list_subscriptions()}
        changed = False
        for record in stored.values():
            try:
                spec = spec_from_storage_dict(record.spec)
            except SubscriptionSpecError as exc:
                log.error("stored subscription %s cannot be used: %s", record.name, exc)
                continue
            known = self.registry.get(record.name)
            if known is None or known.provisioning_state != record.provisioning_state or known.spec != spec:
                self.registry.set(spec, record.provisioning_state)
                changed = True
        for name in self.registry.active_names():
            if name not in stored:
                self.registry.remove(name)
                changed = True
        if changed:
            self.engine.sync()

    async def settled(self) -> None:
        """Wait for the handshakes `load()` started in the background (config-file subscriptions)."""
        await asyncio.gather(*self._background)

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
