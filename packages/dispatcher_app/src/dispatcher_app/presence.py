"""Presence that survives dead instances: heartbeats and reconciliation, on any store.

The problem: an agent's presence lives in the shared store as a set of connection ids. If the instance
holding a socket dies (killed, crashed, network cut), nobody calls ``handle_agent_disconnected`` for it and
the agent would stay online - and keep receiving conversations - forever.

The approach, built only on the core's ports so it works the same on memory, SQL and Redis stores:

* every connection id is ``<instance id>:<random>``, so anyone can tell which instance holds a socket;
* every instance keeps a heartbeat record in the presence repository, under the reserved id
  ``~instance:<instance id>`` (agent tokens can never name an id starting with ``~``), whose ``changed_at``
  it refreshes every ``presence_ttl / 3`` (a compare-and-set write like any presence);
* at the same pace every instance reconciles: connection ids of instances whose heartbeat is older than
  ``presence_ttl`` (or marked offline) are disconnected through the orchestrator, which applies the normal
  rule 4 (grace period, then redistribution); its own connection ids that no longer have a socket are
  disconnected too, and its open sockets missing from the store (removed while it looked dead) are
  connected again. Both calls are idempotent, so instances reconciling at the same time do no harm;
* a clean shutdown marks the record offline, so its sockets are reconciled at the next pass.

Heartbeat records of stopped instances stay in the store, marked offline (one small record per instance id;
set ``DISPATCHER_INSTANCE_ID`` to reuse ids across restarts).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from dispatcher_app.ws.router import EventRouter
from dispatcher_core import AgentPresence, DispatcherOrchestrator, PresenceStatus
from dispatcher_core.errors import ConcurrencyConflict
from dispatcher_core.ports import Clock, UnitOfWorkFactory

__all__ = ["INSTANCE_PREFIX", "InstancePresence", "ReconcileReport", "instance_of"]

_log = logging.getLogger(__name__)

INSTANCE_PREFIX = "~instance:"


def instance_of(connection_id: str) -> str | None:
    """The instance id a connection id names, or ``None`` for ids this app did not make."""
    instance, separator, _ = connection_id.partition(":")
    return instance if separator and instance else None


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    disconnected: int
    reconnected: int
    dead_instances: int


class InstancePresence:
    def __init__(
        self,
        *,
        instance_id: str,
        uow_factory: UnitOfWorkFactory,
        orchestrator: DispatcherOrchestrator,
        router: EventRouter,
        clock: Clock,
        ttl: timedelta,
    ) -> None:
        self.instance_id = instance_id
        self._uow_factory = uow_factory
        self._orchestrator = orchestrator
        self._router = router
        self._clock = clock
        self._ttl = ttl
        self._record_id = INSTANCE_PREFIX + instance_id
        #: Connection ids between their socket closing and the store hearing of it.
        self.leaving: set[str] = set()

    @property
    def interval(self) -> timedelta:
        """How often to heartbeat and reconcile: a third of the TTL, so one late beat is tolerated."""
        return self._ttl / 3

    def new_connection_id(self) -> str:
        return f"{self.instance_id}:{uuid.uuid4().hex}"

    async def heartbeat(self) -> None:
        """Refresh this instance's record (online, ``changed_at`` = now)."""
        await self._write_record(PresenceStatus.ONLINE)

    async def leave(self) -> None:
        """Mark this instance stopped: its remaining connection ids are reconciled by the others."""
        await self._write_record(PresenceStatus.OFFLINE)

    async def _write_record(self, status: PresenceStatus) -> None:
        for _ in range(3):
            now = self._clock.now()
            async with self._uow_factory() as uow:
                record = await uow.presence.get(self._record_id) or AgentPresence.offline(self._record_id, now)
                try:
                    await uow.presence.save(replace(record, status=status, changed_at=now))
                    await uow.commit()
                    return
                except ConcurrencyConflict:
                    continue  # a reconciler marked us offline meanwhile; read again and overwrite

    async def reconcile(self) -> ReconcileReport:
        """Make the store's connections agree with the live instances and this instance's sockets."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            presences = await uow.presence.list()
        records = {p.agent_id[len(INSTANCE_PREFIX) :]: p for p in presences if p.agent_id.startswith(INSTANCE_PREFIX)}
        alive = {
            instance
            for instance, record in records.items()
            if record.status is PresenceStatus.ONLINE and now - record.changed_at < self._ttl
        } | {self.instance_id}
        local = {connection.connection_id: connection for connection in self._router.agent_connections()}

        stale: list[tuple[str, str]] = []
        stored_local: set[str] = set()
        for presence in presences:
            if presence.agent_id.startswith(INSTANCE_PREFIX):
                continue
            for connection_id in presence.connections:
                instance = instance_of(connection_id)
                if instance is None:
                    continue  # not made by this app (an embedding backend's own ids): not ours to judge
                if instance == self.instance_id:
                    stored_local.add(connection_id)
                    if connection_id not in local:
                        stale.append((presence.agent_id, connection_id))
                elif instance not in alive:
                    stale.append((presence.agent_id, connection_id))
        missing = [c for c in local.values() if c.joined and c.connection_id not in stored_local]

        for agent_id, connection_id in stale:
            await self._orchestrator.handle_agent_disconnected(agent_id, connection_id)
        for connection in missing:
            if connection.joined and connection.connection_id not in self.leaving:
                await self._orchestrator.handle_agent_connected(connection.agent_id, connection.connection_id)
        dead = [
            instance
            for instance, record in records.items()
            if instance not in alive and record.status is PresenceStatus.ONLINE
        ]
        for instance in dead:
            await self._mark_offline(instance)
        if stale or missing:
            _log.info("presence reconciled: %d stale connections removed, %d restored", len(stale), len(missing))
        return ReconcileReport(disconnected=len(stale), reconnected=len(missing), dead_instances=len(dead))

    async def _mark_offline(self, instance: str) -> None:
        record_id = INSTANCE_PREFIX + instance
        async with self._uow_factory() as uow:
            record = await uow.presence.get(record_id)
            now = self._clock.now()
            if record is None or record.status is not PresenceStatus.ONLINE or now - record.changed_at < self._ttl:
                return  # it came back meanwhile
            try:
                await uow.presence.save(record.go_offline(now))
                await uow.commit()
            except ConcurrencyConflict:
                return  # another instance did it, or the instance beat again
