"""The per-instance event router: which sockets of this instance an event goes to.

It knows only the sockets open on this instance. Events reach it already numbered (``seq`` per agent): by
:class:`~dispatcher_app.hub.LocalEventHub` on the memory and SQL backends, by the Redis publisher when
instances share Redis. An agent's frame is serialised once and offered to each of its sockets; an agent
never receives a frame addressed to another agent. Admin sockets get every event, numbered per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from dispatcher_app.serialization import JSON, dumps
from dispatcher_app.ws.connection import AgentConnection, SocketConnection

_log = logging.getLogger(__name__)

__all__ = ["EventRouter"]


class EventRouter:
    def __init__(self) -> None:
        self._agents: dict[str, dict[str, AgentConnection]] = {}
        self._admins: set[SocketConnection] = set()
        self._admin_seq = 0
        self._sessions: set[asyncio.Task[object]] = set()

    # -------------------------------------------------------------- sockets

    def attach_agent(self, connection: AgentConnection) -> None:
        self._agents.setdefault(connection.agent_id, {})[connection.connection_id] = connection

    def detach_agent(self, connection: AgentConnection) -> None:
        sockets = self._agents.get(connection.agent_id)
        if sockets is not None:
            sockets.pop(connection.connection_id, None)
            if not sockets:
                del self._agents[connection.agent_id]

    def attach_admin(self, connection: SocketConnection) -> None:
        self._admins.add(connection)

    def detach_admin(self, connection: SocketConnection) -> None:
        self._admins.discard(connection)

    def agent_connections(self) -> Iterator[AgentConnection]:
        """Every agent socket open on this instance."""
        for sockets in tuple(self._agents.values()):
            yield from tuple(sockets.values())

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self._agents

    @property
    def admin_count(self) -> int:
        return len(self._admins)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Marks the current task as a socket handler, so that shutdown can wait for its cleanup."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._sessions.add(task)
        try:
            yield
        finally:
            self._sessions.discard(task)

    async def close_all(self, code: int, reason: str, *, wait: float = 5.0) -> None:
        """Close every socket, then give their handlers ``wait`` seconds to record the disconnections
        (before the store they write to closes)."""
        for connection in self.agent_connections():
            connection.close(code, reason)
        for admin in tuple(self._admins):
            admin.close(code, reason)
        if self._sessions:
            await asyncio.wait(tuple(self._sessions), timeout=wait)

    # -------------------------------------------------------------- frames

    def to_agent(self, agent_id: str, seq: int, payload: JSON) -> None:
        """An event frame for ``agent_id``'s sockets on this instance (none: nothing to do)."""
        sockets = self._agents.get(agent_id)
        if not sockets:
            return
        text = dumps({**payload, "seq": seq})
        _log.debug("frame %s seq %d to %d socket(s) of agent %s", payload.get("type"), seq, len(sockets), agent_id)
        for connection in tuple(sockets.values()):
            connection.deliver(seq, text)

    def to_agent_sockets(self, agent_id: str, payload: JSON) -> None:
        """A frame that is not a numbered event (``message.status``): each socket stamps its last ``seq``."""
        for connection in tuple(self._agents.get(agent_id, {}).values()):
            connection.control(payload)

    def resync_agent(self, agent_id: str, hello: JSON, seq: int) -> None:
        """A fresh ``hello`` numbered ``seq`` for every started socket of ``agent_id`` here."""
        for connection in tuple(self._agents.get(agent_id, {}).values()):
            connection.resync(hello, seq)

    def to_admins(self, payload: JSON) -> None:
        """A frame for every admin socket of this instance."""
        if not self._admins:
            return
        self._admin_seq += 1
        text = dumps({**payload, "seq": self._admin_seq})
        for admin in tuple(self._admins):
            admin.offer(text)
