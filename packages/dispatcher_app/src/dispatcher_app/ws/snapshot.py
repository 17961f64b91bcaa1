"""The ``hello`` frame: an agent's open conversations with their messages, read from the store.

Sent when a socket opens and again whenever the event stream had a gap (a *resync*): the store is the
truth, frames are only news of it.
"""

from __future__ import annotations

from dispatcher_app.serialization import JSON, agent_conversation_payload
from dispatcher_core.ports import UnitOfWorkFactory

__all__ = ["agent_hello"]


async def agent_hello(uow_factory: UnitOfWorkFactory, agent_id: str) -> JSON:
    """``{"type": "hello", "agent_id", "conversations": [...]}`` (without ``seq``, added when sent)."""
    async with uow_factory() as uow:
        conversations = await uow.conversations.list_by_agent(agent_id)
        snapshot = [
            (c, await uow.conversations.get_messages(c.id), await uow.outbox.list_by_conversation(c.id))
            for c in conversations
        ]
    return {
        "type": "hello",
        "agent_id": agent_id,
        "conversations": [agent_conversation_payload(c, messages, outbound) for c, messages, outbound in snapshot],
    }
