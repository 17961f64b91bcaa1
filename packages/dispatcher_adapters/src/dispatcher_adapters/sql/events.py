"""Events through PostgreSQL: written in the unit of work's transaction, announced by ``NOTIFY``.

The :class:`~dispatcher_core.ports.EventJournal` of a store that carries events. ``record`` is ONE statement
(one round trip), run right before ``COMMIT`` in the transaction that made the state change:

* each agent's counter (``dispatcher_event_counters``) is bumped by the number of its events - the row lock
  it takes is held until the commit, so an agent's ``seq`` numbers follow commit order on every instance;
* the events are inserted into ``dispatcher_events`` with their ``seq`` (``NULL`` for admin-only events) and
  the transaction id;
* ``pg_notify`` announces a *pointer*, ``<transaction id>:<first id>:<last id>:<count>`` (a few dozen bytes,
  far under PostgreSQL's 8000-byte limit however many events), which PostgreSQL delivers to every listener
  only when the transaction commits - a rolled-back unit of work announces nothing and leaves no row.

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

__all__ = ["CHANNEL", "RECORD_EVENTS", "SqlEventJournal"]

#: The ``LISTEN/NOTIFY`` channel of the event transport (one per database).
CHANNEL: Final = "dispatcher_events"

RECORD_EVENTS: Final = Sql(
    text="""
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
), inserted AS (
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
        await self._tx.fetch(
            RECORD_EVENTS,
            {
                "agents": [recipient(event) for event in events],
                "payloads": [dump_event(event) for event in events],
                "channel": self._channel,
            },
        )
