"""The Lua scripts, registered once per client with ``register_script`` (EVALSHA, loaded on first use).

No business rule lives here: the scripts read several keys in one round trip, or check preconditions that
Python computed (versions, absent keys) and apply writes that Python computed, atomically. Which agent gets
a conversation is decided in Python, before ``COMMIT`` runs. docs/storage-redis.md describes each script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

__all__ = ["CHECKS", "COMMIT", "WRITES", "Scripts", "as_list", "decode"]

#: Check operations of ``COMMIT``: name -> number of operands (after the outcome code and the detail); -1 for
#: "at least the key and the field".
CHECKS = {
    "hget": 3,  # key, field, expected value ('' = the field is absent)
    "hget0": 3,  # key, field, expected value; an absent field counts as '0'
    "hfree": -1,  # key, field, owners...: the field is absent or holds one of the owners
    "hpresent": 2,  # key, field: the field exists
    "get": 2,  # key, expected value ('' = absent)
    "get0": 2,  # key, expected value; absent counts as '0'
}
#: Write operations of ``COMMIT`` (plain Redis commands, plus ZADDSEQ, HSETX and HDELIF).
WRITES = frozenset(
    {"HSET", "HDEL", "HINCRBY", "ZADD", "ZREM", "RPUSH", "SET", "INCR", "DEL", "ZADDSEQ", "HSETX", "HDELIF"}
)

COMMIT = """
-- Apply one unit of work: check every precondition, then apply every write, or change nothing.
-- KEYS[1]: this commit's token. ARGV[1]: the token's lifetime in seconds; ARGV[2]: the plan, JSON
-- [checks, writes]: each check is [name, outcome code if it fails, detail, key, operands...], each write
-- [command, arguments...]. Every key of the plan shares the store's prefix (one hash slot on a cluster).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'applied'}  -- the same commit sent again after its reply was lost: it already happened
end
local plan = cjson.decode(ARGV[2])
for _, c in ipairs(plan[1]) do
  local name, key = c[1], c[4]
  local ok
  if name == 'hget' then
    ok = (redis.call('HGET', key, c[5]) or '') == c[6]
  elseif name == 'hget0' then
    ok = (redis.call('HGET', key, c[5]) or '0') == c[6]
  elseif name == 'hfree' then
    local value = redis.call('HGET', key, c[5])
    ok = not value
    for k = 6, #c do ok = ok or value == c[k] end
  elseif name == 'hpresent' then
    ok = redis.call('HEXISTS', key, c[5]) == 1
  elseif name == 'get' then
    ok = (redis.call('GET', key) or '') == c[5]
  elseif name == 'get0' then
    ok = (redis.call('GET', key) or '0') == c[5]
  else
    return redis.error_reply('dispatcher commit: unknown check ' .. tostring(name))
  end
  if not ok then return {c[2], c[3]} end
end
for _, w in ipairs(plan[2]) do
  local name = w[1]
  if name == 'ZADDSEQ' then
    -- counter, member, sorted sets...: the member is scored by the counter's next value in each set
    local score = redis.call('INCR', w[2])
    for k = 4, #w do redis.call('ZADD', w[k], score, w[3]) end
  elseif name == 'HSETX' then
    -- key, field, value: set only on an existing hash
    if redis.call('EXISTS', w[2]) == 1 then redis.call('HSET', w[2], w[3], w[4]) end
  elseif name == 'HDELIF' then
    -- key, field, value: delete the field only if it still holds value
    if redis.call('HGET', w[2], w[3]) == w[4] then redis.call('HDEL', w[2], w[3]) end
  else
    redis.call(name, unpack(w, 2))
  end
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return {'ok'}
"""

SNAPSHOT = """
-- Everything one incoming message may need, in one round trip: the open conversation of a key, its agent's
-- presence, the head of the queue with its version, the agent loads with their version (if asked).
-- Like every read script here it answers one JSON string: one reply to parse instead of dozens.
-- KEYS: open index, queue, queue version, loads, loads version. ARGV: index field, conversation key prefix,
-- presence key prefix, how many agents of the queue's head, '1' to read the loads.
local id = redis.call('HGET', KEYS[1], ARGV[1])
local conversation = false
local presence = false
if id then
  conversation = redis.call('HMGET', ARGV[2] .. id, 'v', 'd', 'a')
  if conversation[3] and conversation[3] ~= '' then
    presence = redis.call('HMGET', ARGV[3] .. conversation[3], 'v', 'd')
  end
end
local loads, loads_version = false, false
if ARGV[5] == '1' then
  loads, loads_version = redis.call('HGETALL', KEYS[4]), redis.call('GET', KEYS[5]) or '0'
end
return cjson.encode({
  id or false, conversation, presence,
  redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[4]) - 1), redis.call('GET', KEYS[3]) or '0',
  loads, loads_version,
})
"""

ZFETCH = """
-- A range of a sorted set and what each member points to, in one round trip.
-- KEYS[1]: the sorted set. ARGV: mode ('rank', 'revrank' or 'score'), from, to, source ('hash': the hash
-- at prefix .. id, fields v and d; 'field': the id's field in the hash named prefix), prefix, and how many
-- leading characters of a member to drop to get the id.
local key = KEYS[1]
local mode, from, to, source, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local skip = tonumber(ARGV[6]) + 1
local members
if mode == 'rank' then
  members = redis.call('ZRANGE', key, from, to)
elseif mode == 'revrank' then
  members = redis.call('ZREVRANGE', key, from, to)
else
  members = redis.call('ZRANGEBYSCORE', key, from, to)
end
local values = {}
for i, member in ipairs(members) do
  local id = string.sub(member, skip)
  if source == 'hash' then
    values[i] = redis.call('HMGET', prefix .. id, 'v', 'd')
  else
    values[i] = redis.call('HGET', prefix, id)
  end
end
return cjson.encode({members, values})
"""

MESSAGES = """
-- A conversation's messages in arrival order. KEYS[1]: its message list. ARGV[1]: message key prefix.
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
local values = {}
for i, id in ipairs(ids) do values[i] = redis.call('HMGET', ARGV[1] .. id, 'd', 't') end
return cjson.encode(values)
"""

CLAIM = """
-- Tentative slot claim. KEYS[1]: the slot. ARGV: tentative value, lifetime (ms). Returns 'claimed', or the
-- value holding the slot ('' if it vanished meanwhile).
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'claimed' end
return redis.call('GET', KEYS[1]) or ''
"""

RELEASE = """
-- Compare-and-delete. KEYS[1]: the key. ARGV[1]: the value it must still hold.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

PUBLISH = """
-- Publish a batch of events. KEYS[1]: this batch's token; KEYS[2..]: the sequence counter of each agent
-- event, in order. ARGV: token lifetime (s), admin channel, agent channel prefix, then (agent id or '',
-- event JSON) pairs. An agent event gets the next number of its agent's counter and goes to the agent's
-- channel and to the admin channel; other events go to the admin channel only. A counter is a hash: 'n' the
-- last number, 'e' the epoch it was created in (server time), so a counter that was lost and started again
-- (a flush, an eviction) is told apart from old numbers.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0  -- the same batch sent again after its reply was lost: already published
end
local k = 2
for i = 4, #ARGV, 2 do
  local agent, event = ARGV[i], ARGV[i + 1]
  if agent ~= '' then
    local epoch = redis.call('HGET', KEYS[k], 'e')
    if not epoch then
      local now = redis.call('TIME')
      epoch = now[1] .. string.format('%06d', tonumber(now[2]))
      redis.call('HSET', KEYS[k], 'e', epoch)
    end
    local seq = redis.call('HINCRBY', KEYS[k], 'n', 1)
    k = k + 1
    local envelope = '{"agent_id":' .. cjson.encode(agent) .. ',"epoch":"' .. epoch .. '","seq":' .. seq
      .. ',"event":' .. event .. '}'
    redis.call('PUBLISH', ARGV[3] .. agent, envelope)
    redis.call('PUBLISH', ARGV[2], envelope)
  else
    redis.call('PUBLISH', ARGV[2], '{"agent_id":null,"seq":null,"event":' .. event .. '}')
  end
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Scripts:
    """The scripts registered on one client. Registering computes digests only: no I/O."""

    commit: AsyncScript
    snapshot: AsyncScript
    zfetch: AsyncScript
    messages: AsyncScript
    claim: AsyncScript
    release: AsyncScript
    publish: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> Scripts:
        return cls(
            commit=client.register_script(COMMIT),
            snapshot=client.register_script(SNAPSHOT),
            zfetch=client.register_script(ZFETCH),
            messages=client.register_script(MESSAGES),
            claim=client.register_script(CLAIM),
            release=client.register_script(RELEASE),
            publish=client.register_script(PUBLISH),
        )


def as_list(value: Any) -> list[Any]:
    """An array of a script's reply. cjson encodes an empty Lua table as ``{}`` and a missing value as
    ``false``: both are an empty array here."""
    return value if isinstance(value, list) else []


def decode(reply: Any) -> Any:
    """The JSON a read script answered, with ``false`` (a missing value in Lua) as ``None``."""
    return _nones(json.loads(reply))


def _nones(value: Any) -> Any:
    if value is False:
        return None
    if isinstance(value, list):
        return [_nones(item) for item in value]
    return value
