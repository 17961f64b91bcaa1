"""How a conversation is stored and indexed: the writes that replace one stored version by the next.

Python computes them from the version the unit of work read (``base``) and the one it stores (``final``); the
commit script applies them only if the stored version is still ``base``'s, so the indexes always move from
exactly the state they describe. See docs/storage-redis.md for the key layout.
"""

from __future__ import annotations

from dispatcher_adapters.redis.codec import dump_conversation, micros
from dispatcher_adapters.redis.keys import RedisKeys
from dispatcher_adapters.redis.plan import CommitPlan
from dispatcher_core.entities import Conversation, ConversationStatus

__all__ = ["PENDING_ID_OFFSET", "index_writes", "open_agent", "pending_member"]

#: Members of the pending sorted set are "<opened_at in microseconds, 17 digits>|<id>": equal pending-since
#: scores then sort by opening time, as the port asks.
PENDING_ID_OFFSET = 18


def pending_member(conversation: Conversation) -> str:
    return f"{micros(conversation.opened_at):017d}|{conversation.id}"


def open_agent(conversation: Conversation | None) -> str | None:
    """The agent holding the conversation, if it is open."""
    return conversation.agent_id if conversation is not None and conversation.is_open else None


def index_writes(plan: CommitPlan, keys: RedisKeys, base: Conversation | None, final: Conversation) -> None:
    """The writes that replace ``base`` (``None``: new) by ``final`` and keep every index in step."""
    cid = final.id
    before_agent, after_agent = open_agent(base), open_agent(final)
    data = dump_conversation(final)
    plan.write("HSET", keys.conversation(cid), "v", final.version, "d", data, "a", after_agent or "")
    activity = micros(final.last_activity_at)
    plan.write("ZADD", keys.conversations_all, activity, cid)
    status_keys = {
        ConversationStatus.OPEN: keys.conversations_open,
        ConversationStatus.CLOSED: keys.conversations_closed,
    }
    if base is not None and base.status is not final.status:
        plan.write("ZREM", status_keys[base.status], cid)
    plan.write("ZADD", status_keys[final.status], activity, cid)
    before_field = keys.pair_field(base.business_number_id, base.customer_id) if base and base.is_open else None
    after_field = keys.pair_field(final.business_number_id, final.customer_id) if final.is_open else None
    if before_field is not None and before_field != after_field:
        plan.write("HDELIF", keys.open_index, before_field, cid)  # another may hold it already
    if after_field is not None:
        plan.write("HSET", keys.open_index, after_field, cid)
    if before_agent is not None and before_agent != after_agent:
        plan.write("ZREM", keys.agent_conversations(before_agent), cid)
        plan.write("HINCRBY", keys.agent_loads, before_agent, -1)
    if after_agent is not None:
        plan.write("ZADD", keys.agent_conversations(after_agent), micros(final.assigned_at or final.opened_at), cid)
        if after_agent != before_agent:
            plan.write("HINCRBY", keys.agent_loads, after_agent, 1)
    if before_agent != after_agent:
        plan.write("INCR", keys.agent_loads_version)
    before_pending = pending_member(base) if base is not None and base.is_pending else None
    if before_pending is not None:
        plan.write("ZREM", keys.pending_conversations, before_pending)
    if final.is_pending:
        score = micros(final.pending_since or final.opened_at)
        plan.write("ZADD", keys.pending_conversations, score, pending_member(final))
    if base is not None:
        plan.write("ZREM", keys.unanswered, cid)
        plan.write("ZREM", keys.idle, cid)
    if final.is_open and final.oldest_unanswered_at is None:
        plan.write("ZADD", keys.idle, activity, cid)
    elif final.is_open and after_agent is not None and final.oldest_unanswered_at is not None:
        plan.write("ZADD", keys.unanswered, micros(final.oldest_unanswered_at), cid)
