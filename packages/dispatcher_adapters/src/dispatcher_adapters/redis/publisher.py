"""The :class:`~dispatcher_core.ports.EventPublisher` over Redis pub/sub, for every app instance.

One script per batch: each event meant for an agent gets the next number of that agent's counter (the
per-agent ``seq`` of DESIGN §4) and goes to the agent's channel and to the admin channel; other events go to
the admin channel only. Numbering and publishing in one script means numbers are handed out in publication
order, so a subscriber that sees a jump knows it missed something and resynchronises from the store.

Publication is best effort, as the port says: a batch whose connection fails is sent again with the same
token (the script publishes it once), and if Redis stays unreachable the failure is logged, not raised -
the state is committed already, and subscribers resynchronise when their own connection comes back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import assert_never

import redis.exceptions as redis_errors
from redis.asyncio import Redis

from dispatcher_adapters.redis.codec import dump_event
from dispatcher_adapters.redis.errors import UNAVAILABLE
from dispatcher_adapters.redis.keys import RedisKeys
from dispatcher_adapters.redis.scripts import Scripts
from dispatcher_core.events import (
    AgentStatusChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationPending,
    ConversationReleased,
    DomainEvent,
    MessageReceived,
    OutboundStatusChanged,
    QueueUpdated,
)

__all__ = ["RedisEventPublisher", "recipient"]

_log = logging.getLogger(__name__)


def recipient(event: DomainEvent) -> str | None:
    """The agent an event is sent to (on its socket, with a ``seq``), or ``None`` for admin-only events."""
    match event:
        case (
            ConversationAssigned()
            | MessageReceived()
            | ConversationReleased()
            | ConversationClosed()
            | OutboundStatusChanged()
        ):
            return event.agent_id
        case ConversationPending() | QueueUpdated() | AgentStatusChanged():
            return None
        case _:
            assert_never(event)


class RedisEventPublisher:
    def __init__(self, client: Redis, *, prefix: str = "dispatcher", attempts: int = 3) -> None:
        self.keys = RedisKeys(prefix)
        self._scripts = Scripts.register(client)
        self._attempts = max(1, attempts)
        self.failed_batches = 0

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        keys = [self.keys.commit_token("events-" + uuid.uuid4().hex)]
        args: list[str] = ["60", self.keys.admin_channel, self.keys.agent_channel_prefix]
        for event in events:
            agent = recipient(event)
            if agent is not None:
                keys.append(self.keys.event_seq(agent))
            args += [agent or "", dump_event(event)]
        error: Exception | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                await self._scripts.publish(keys=keys, args=args)
                return
            except UNAVAILABLE as exc:
                error = exc
                if attempt < self._attempts:
                    await asyncio.sleep(0.01 * attempt)
            except redis_errors.RedisError as exc:
                error = exc
                break
        self.failed_batches += 1
        _log.error("could not publish %d events; subscribers will resynchronise", len(events), exc_info=error)
