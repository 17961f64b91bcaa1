"""Simulated agents: real WebSocket clients of ``/ws/agent``, each with the temperament of its profile.

An agent connects with its JWT, answers the conversations it is given (``reply`` frames) after a while,
sometimes closes them, sometimes lets one wait too long, and takes breaks: it disconnects and comes back
later, which is what makes the round-robin queue, the grace period and the redistribution of pending
conversations visible on the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from dispatcher_app.demo.cast import AGENT_REPLIES, AgentProfile

__all__ = ["AgentCounts", "SimulatedAgent"]

_log = logging.getLogger(__name__)
_RETRY_AFTER = 1.0


@dataclass(slots=True)
class AgentCounts:
    sessions: int = 0
    assigned: int = 0
    replies: int = 0
    closes: int = 0
    errors: int = 0


class SimulatedAgent:
    """One agent, run until cancelled. Losing the server (it stops, or is not up yet) only means trying
    again a moment later."""

    def __init__(self, profile: AgentProfile, *, url: str, rng: random.Random) -> None:
        self.profile = profile
        self._url = url
        self._rng = rng
        self._client_ids = itertools.count(1)
        self._answering: dict[str, asyncio.Task[None]] = {}
        self.counts = AgentCounts()
        self.online = False

    @property
    def agent_id(self) -> str:
        return self.profile.agent_id

    async def run(self) -> None:
        await asyncio.sleep(self.profile.first_connect_after)
        shortest, longest = self.profile.online_for
        online_for = self._rng.uniform(shortest / 3, longest)  # the first breaks come at different times
        while True:
            try:
                await self.session(online_for)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                _log.debug("agent %s lost its connection: %s", self.agent_id, exc)
                await asyncio.sleep(_RETRY_AFTER)
                continue
            await asyncio.sleep(self._rng.uniform(*self.profile.offline_for))
            online_for = self._rng.uniform(shortest, longest)

    async def session(self, online_for: float) -> None:
        """Stay connected for ``online_for`` seconds, answering what comes, then disconnect."""
        async with connect(self._url, open_timeout=10, close_timeout=2) as websocket:
            self.counts.sessions += 1
            self.online = True
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(online_for):
                        async for raw in websocket:
                            self.on_frame(websocket, json.loads(raw))
            finally:
                self.online = False
                await self._stop_answering()

    def on_frame(self, websocket: ClientConnection, frame: dict[str, Any]) -> None:
        match frame.get("type"):
            case "hello":
                for conversation in frame.get("conversations", []):
                    if conversation.get("oldest_unanswered_at") is not None:
                        self._answer_later(websocket, conversation["conversation_id"])
            case "conversation.assigned":
                self.counts.assigned += 1
                self._answer_later(websocket, frame["conversation_id"])
            case "message.received":
                self._answer_later(websocket, frame["conversation_id"])
            case "conversation.released" | "conversation.closed":
                task = self._answering.pop(frame["conversation_id"], None)
                if task is not None:
                    task.cancel()
            case "error":
                self.counts.errors += 1
                _log.debug("agent %s got an error frame: %s", self.agent_id, frame)
            case _:
                pass  # reply.accepted, pong, message.status

    def _answer_later(self, websocket: ClientConnection, conversation_id: str) -> None:
        if conversation_id in self._answering:
            return  # an answer is already on its way
        if self._rng.random() < self.profile.ignore_probability:
            return  # busy: this one waits (the response timeout may move it to someone else)
        task = asyncio.create_task(self._answer(websocket, conversation_id))
        self._answering[conversation_id] = task
        task.add_done_callback(lambda done: self._forget(conversation_id, done))

    def _forget(self, conversation_id: str, task: asyncio.Task[None]) -> None:
        if self._answering.get(conversation_id) is task:
            del self._answering[conversation_id]

    async def _answer(self, websocket: ClientConnection, conversation_id: str) -> None:
        try:
            await asyncio.sleep(self._rng.uniform(*self.profile.reply_delay))
            text = self._rng.choice(AGENT_REPLIES)
            client_id = f"{self.agent_id}-{next(self._client_ids)}"
            await websocket.send(
                json.dumps({"type": "reply", "conversation_id": conversation_id, "text": text, "client_id": client_id})
            )
            self.counts.replies += 1
            if self._rng.random() < self.profile.close_probability:
                await asyncio.sleep(self._rng.uniform(1.0, 3.0))
                await websocket.send(json.dumps({"type": "close", "conversation_id": conversation_id}))
                self.counts.closes += 1
        except ConnectionClosed:
            return  # the session ended meanwhile: the conversation is answered after reconnecting, or by others

    async def _stop_answering(self) -> None:
        tasks = list(self._answering.values())
        self._answering.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
