"""A commit plan: the preconditions and writes of one unit of work, encoded for the ``COMMIT`` script.

The plan travels as one JSON argument (decoded by ``cjson`` inside Redis): one string to encode instead of a
hundred arguments, which is most of what redis-py spends on a commit. Every operand is a string, so no
number goes through Lua's 14-digit number formatting (scores are 16-digit microseconds).
"""

from __future__ import annotations

import json

from dispatcher_adapters.redis.scripts import CHECKS, WRITES

__all__ = ["CONFLICT", "DUPLICATE", "OPEN", "SLOT", "CommitPlan"]

#: Outcome codes of a failed check.
CONFLICT = "conflict"  # something read has changed
OPEN = "open"  # another open conversation holds the key (I1)
DUPLICATE = "dup"  # the message was stored meanwhile (I2)
SLOT = "slot"  # our tentative slot claim expired before commit


class CommitPlan:
    """Checks run first, in order; writes run only if every check passed, in the order they were added."""

    __slots__ = ("_checks", "_writes")

    def __init__(self) -> None:
        self._checks: list[list[str]] = []
        self._writes: list[list[str]] = []

    def check(self, name: str, code: str, detail: str, key: str, *operands: str) -> None:
        arity = CHECKS.get(name)
        if arity is None or (arity != len(operands) + 1 if arity >= 0 else len(operands) < 1):
            raise ValueError(f"commit plan: bad check {name} {operands}")  # a bug in this adapter
        self._checks.append([name, code, detail, key, *operands])

    def write(self, name: str, *args: str | int) -> None:
        if name not in WRITES:
            raise ValueError(f"commit plan: unknown write {name}")  # a bug in this adapter
        self._writes.append([name, *map(str, args)])

    @property
    def has_writes(self) -> bool:
        return bool(self._writes)

    def encode(self, token_key: str, token_ttl: int) -> tuple[list[str], list[str]]:
        """``(KEYS, ARGV)`` for the ``COMMIT`` script."""
        plan = json.dumps([self._checks, self._writes], separators=(",", ":"), ensure_ascii=False)
        return [token_key], [str(token_ttl), plan]
