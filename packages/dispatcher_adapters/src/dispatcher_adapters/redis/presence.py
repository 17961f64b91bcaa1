"""Agent presence on Redis: one hash per agent ``{v, d}`` and a sorted set of agent ids (all scored 0, so
ordered by id). ``save`` is a compare-and-set on the version, checked at commit; absent counts as 0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from dispatcher_adapters.redis.codec import dump_presence, load_presence
from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, CommitPlan
from dispatcher_adapters.redis.reads import zfetch
from dispatcher_adapters.redis.session import Session
from dispatcher_core.entities import AgentPresence, PresenceStatus
from dispatcher_core.errors import ConcurrencyConflict

__all__ = ["RedisPresence", "presence_from_hash"]


def presence_from_hash(values: Any) -> AgentPresence | None:
    """A presence from its hash's ``[v, d]`` as a script returned it, or ``None`` if absent."""
    if not values or values[0] is None or values[1] is None:
        return None
    return load_presence(values[1], values[0])


class RedisPresence:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._ctx = session.ctx
        self._keys = session.ctx.keys
        #: agent -> (stored version the commit expects, presence to store)
        self._staged: dict[str, tuple[int, AgentPresence]] = {}

    async def get(self, agent_id: str) -> AgentPresence | None:
        staged = self._staged.get(agent_id)
        if staged is not None:
            return staged[1]
        read = self._s.presence_read
        if agent_id not in read:
            values = await guarded(self._ctx.client.hmget(self._keys.presence(agent_id), ["v", "d"]))
            read[agent_id] = presence_from_hash(values)
        return read[agent_id]

    async def save(self, presence: AgentPresence) -> None:
        agent_id = presence.agent_id
        staged = self._staged.get(agent_id)
        if staged is not None:
            expected, current_version = staged[0], staged[1].version
        else:
            expected = presence.version
            current_version = presence.version
            if agent_id in self._s.presence_read:
                known = self._s.presence_read[agent_id]
                current_version = 0 if known is None else known.version
        if current_version != presence.version:
            raise ConcurrencyConflict(f"presence of {agent_id} is at version {current_version}, not {presence.version}")
        # When nothing was read the commit alone checks the stored version (absent counts as 0).
        self._staged[agent_id] = (expected, replace(presence, version=presence.version + 1))

    async def list(self, status: PresenceStatus | None = None) -> Sequence[AgentPresence]:
        found: dict[str, AgentPresence] = {}
        for agent_id, values in await zfetch(
            self._ctx,
            self._keys.presence_ids,
            mode="rank",
            start=0,
            stop=-1,
            source="hash",
            prefix=self._keys.presence_prefix,
        ):
            presence = presence_from_hash(values)
            if presence is not None:
                found[agent_id] = self._s.presence_read.setdefault(agent_id, presence) or presence
        for agent_id, (_, final) in self._staged.items():
            found[agent_id] = final
        selected = [p for p in found.values() if status is None or p.status is status]
        return sorted(selected, key=lambda p: p.agent_id)

    def stage(self, plan: CommitPlan) -> None:
        for agent_id, (expected, final) in self._staged.items():
            key = self._keys.presence(agent_id)
            plan.check("hget0", CONFLICT, f"presence of {agent_id}", key, "v", str(expected))
            plan.write("HSET", key, "v", final.version, "d", dump_presence(final))
            plan.write("ZADD", self._keys.presence_ids, 0, agent_id)

    def committed(self) -> None:
        self._staged.clear()

    def rolled_back(self) -> None:
        self._staged.clear()
