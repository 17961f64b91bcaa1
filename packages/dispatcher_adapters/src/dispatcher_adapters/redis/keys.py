"""The key layout of one dispatcher (one tenant) on a Redis server, all under one prefix.

Every key starts with ``<prefix>:``, so several tenants, or several test runs, share a Redis server and each
deletes only its own keys (:func:`dispatcher_adapters.redis.maintenance.delete_prefix`). On Redis Cluster, put
a hash tag in the prefix (``{tenant-a}``): the commit script touches many keys, which must share one slot.
docs/storage-redis.md explains what each key holds and which script writes it.
"""

from __future__ import annotations

from dispatcher_core.errors import InvalidInput

__all__ = ["RedisKeys"]


class RedisKeys:
    """Key and channel names. Ids are appended last, so any character in an id is safe."""

    __slots__ = (
        "admin_channel",
        "agent_channel_prefix",
        "agent_loads",
        "agent_loads_version",
        "conversation_prefix",
        "conversations_all",
        "conversations_closed",
        "conversations_open",
        "idle",
        "message_keys",
        "message_prefix",
        "open_index",
        "pending_all",
        "pending_conversations",
        "pending_data",
        "pending_seq",
        "prefix",
        "presence_ids",
        "presence_prefix",
        "queue",
        "queue_seq",
        "queue_version",
        "unanswered",
    )

    def __init__(self, prefix: str) -> None:
        if not prefix or any(ch.isspace() for ch in prefix) or "*" in prefix or "?" in prefix:
            raise InvalidInput(f"a Redis key prefix must be non-empty, without spaces or wildcards: {prefix!r}")
        self.prefix = prefix
        p = prefix
        # conversations: one hash each {v: version, d: JSON, a: agent while open and assigned}
        self.conversation_prefix = f"{p}:conv:"
        self.open_index = f"{p}:conv-open"  # hash: "<len>:<business><customer>" -> id of the open conversation
        self.conversations_all = f"{p}:conv-all"  # sorted sets scored by last activity (admin listing)
        self.conversations_open = f"{p}:conv-status:open"
        self.conversations_closed = f"{p}:conv-status:closed"
        self.pending_conversations = f"{p}:conv-pending"  # scored by pending since; member "<opened>|<id>"
        self.unanswered = f"{p}:conv-unanswered"  # assigned, with an unanswered message: oldest unanswered
        self.idle = f"{p}:conv-idle"  # open, nothing unanswered: last activity
        self.agent_loads = f"{p}:agent-loads"  # hash agent -> open conversations
        self.agent_loads_version = f"{p}:agent-loads:v"
        # messages: one hash each {d: JSON, t: agent it was delivered to later}
        self.message_prefix = f"{p}:msg:"
        self.message_keys = f"{p}:msg-keys"  # hash "<len>:<business><external id>" -> message id (I2)
        # pending messages, in arrival order (scored by pending_seq)
        self.pending_data = f"{p}:pending-data"
        self.pending_all = f"{p}:pending"
        self.pending_seq = f"{p}:pending:seq"
        # the round-robin queue: a sorted set scored by an increasing counter, and its version
        self.queue = f"{p}:queue"
        self.queue_seq = f"{p}:queue:seq"
        self.queue_version = f"{p}:queue:v"
        # presence: one hash each {v, d}, and the set of known agents (all scored 0: ordered by id)
        self.presence_prefix = f"{p}:presence:"
        self.presence_ids = f"{p}:presence-ids"
        # pub/sub channels (not keys)
        self.admin_channel = f"{p}:events:admin"
        self.agent_channel_prefix = f"{p}:events:agent:"

    def conversation(self, conversation_id: str) -> str:
        return self.conversation_prefix + conversation_id

    def agent_conversations(self, agent_id: str) -> str:
        """Sorted set of the agent's open conversations, scored by assignment time."""
        return f"{self.prefix}:agent-convs:{agent_id}"

    def conversation_messages(self, conversation_id: str) -> str:
        """List of the conversation's message ids, in arrival order."""
        return f"{self.prefix}:conv-msgs:{conversation_id}"

    def message(self, message_id: str) -> str:
        return self.message_prefix + message_id

    def pending_of(self, conversation_id: str) -> str:
        return f"{self.prefix}:pending-of:{conversation_id}"

    def presence(self, agent_id: str) -> str:
        return self.presence_prefix + agent_id

    def slot(self, job: str, slot: str) -> str:
        return f"{self.prefix}:slot:{len(job)}:{job}:{slot}"

    def commit_token(self, token: str) -> str:
        return f"{self.prefix}:commit:{token}"

    def event_seq(self, agent_id: str) -> str:
        """Counter of the events sent to one agent (the per-agent ``seq`` of docs/api.md): a hash, ``n`` the
        last number and ``e`` the epoch the counter was created in."""
        return f"{self.prefix}:event-seq:{agent_id}"

    def agent_channel(self, agent_id: str) -> str:
        return self.agent_channel_prefix + agent_id

    @staticmethod
    def pair_field(first: str, second: str) -> str:
        """An unambiguous hash field for a pair of strings (a key in ``open_index`` or ``message_keys``)."""
        return f"{len(first)}:{first}{second}"
