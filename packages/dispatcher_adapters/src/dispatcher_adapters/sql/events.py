"""Events through PostgreSQL: written in the unit of work's transaction, announced by ``NOTIFY``.

The :class:`~dispatcher_core.ports.EventJournal` of a store that carries events. ``record`` is ONE statement
(one round trip), run right before ``COMMIT`` in the transaction that made the state change:

* each agent's counter (``dispatcher_event_counters``) is bumped by the number of its events - the row lock
  it takes is held until the commit, so an agent's ``seq`` numbers follow commit order on every instance;
* for a pointer, the events are inserted into ``dispatcher_events`` with their ``seq`` (``NULL`` for
  admin-only events) and the transaction id;
* ``pg_notify`` announces them, and PostgreSQL delivers a notification to every listener only when its
  transaction commits - a rolled-back unit of work announces nothing and leaves no row. Events that fit in
  :data:`INLINE_LIMIT` bytes (nearly every cycle: a message, an assignment with a short history) travel *in*
  the notification (``i[[agent, seq, event], ...]``) and no row is written; bigger batches (a long history, an
  agent's release of hundreds of conversations) are written as rows and the notification is a *pointer*,
  ``<transaction id>:<first id>:<last id>:<count>`` - either way far under PostgreSQL's 8000-byte limit.

Counters are bumped in agent-id order, so two transactions never wait on each other's counters in a cycle.
Listeners (:mod:`~dispatcher_adapters.sql.listener`) read the rows the pointer names; rows are pruned after
a retention far longer than a notification takes to arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from dispatcher_adapters.event_wire import dump_event, recipient
from dispatcher_adapters.sql.statements import Sql
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.events import DomainEvent

__all__ = ["CHANNEL", "INLINE_LIMIT", "RECORD_EVENTS", "RECORD_EVENTS_INLINE", "SqlEventJournal"]

#: The ``LISTEN/NOTIFY`` channel of the event transport (one per database).
CHANNEL: Final = "dispatcher_events"

_NUMBERED = """
WITH input AS (
    SELECT e.agent_id, e.payload, e.ord
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(agent_id, payload, ord)
), bumped AS (
    INSERT INTO dispatcher_event_counters AS c (agent_id, last_seq)
    SELECT agent_id, count(*) FROM input WHERE agent_id IS NOT NULL GROUP BY agent_id ORDER BY agent_id
    ON CONFLICT (agent_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
    RETURNING agent_id, last_seq
), numbered AS (
    SELECT i.ord, i.agent_id, i.payload,
           b.last_seq - count(*) OVER (PARTITION BY i.agent_id)
                      + row_number() OVER (PARTITION BY i.agent_id ORDER BY i.ord) AS seq
    FROM input i LEFT JOIN bumped b ON b.agent_id = i.agent_id
)"""

#: Events written as rows, announced by a pointer to them: ``<transaction id>:<first id>:<last id>:<count>``.
RECORD_EVENTS: Final = Sql(
    text=_NUMBERED
    + """, inserted AS (
    INSERT INTO dispatcher_events (tx, agent_id, seq, payload)
    SELECT txid_current(), agent_id, seq, payload FROM numbered ORDER BY ord
    RETURNING id
)
SELECT pg_notify($3, concat_ws(':', txid_current(), min(id), max(id), count(*))) FROM inserted
""",
    names=("agents", "payloads", "channel"),
    fixed={},
    datetime_columns=(),
)

#: Events small enough to travel in the notification itself: ``i`` then a JSON array of
#: ``[agent id, seq, event]``. No row is written, and listeners need no query.
RECORD_EVENTS_INLINE: Final = Sql(
    text=_NUMBERED
    + """
SELECT pg_notify($3, 'i' || json_agg(json_build_array(agent_id, seq, payload::json) ORDER BY ord)::text)
FROM numbered
""",
    names=("agents", "payloads", "channel"),
    fixed={},
    datetime_columns=(),
)

#: Notifications up to this many bytes carry the events inline (PostgreSQL refuses 8000 bytes or more).
INLINE_LIMIT: Final = 7000
#: Bytes an event adds to an inline notification besides its JSON and its agent id (brackets, seq, commas).
_INLINE_OVERHEAD: Final = 32


class SqlEventJournal:
    """``channel`` ``None``: this store does not carry events (SQLite, or PostgreSQL with Redis carrying them):
    recording does nothing and the app's publisher delivers them."""

    __slots__ = ("_channel", "_tx")

    def __init__(self, tx: Transaction, channel: str | None) -> None:
        self._tx = tx
        self._channel = channel

    async def record(self, events: Sequence[DomainEvent]) -> None:
        if self._channel is None or not events:
            return
        agents = [recipient(event) for event in events]
        payloads = [dump_event(event) for event in events]
        size = sum(
            len(p.encode()) + len((a or "").encode()) + _INLINE_OVERHEAD for a, p in zip(agents, payloads, strict=True)
        )
        statement = RECORD_EVENTS_INLINE if size <= INLINE_LIMIT else RECORD_EVENTS
        await self._tx.fetch(statement, {"agents": agents, "payloads": payloads, "channel": self._channel})
