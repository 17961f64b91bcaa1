"""The simulator through its library API, with an independent observer of the domain events.

The observer below re-derives loads and presence from the events on its own, so these tests check the
dispatcher's behaviour, not the simulator's metrics agreeing with themselves.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from dispatcher_app.simulation import SimulationConfig, SimulationConfigError, run_simulation, simulate, summary
from dispatcher_app.simulation.workload import build_workload
from dispatcher_core.entities import PresenceStatus
from dispatcher_core.events import (
    AgentStatusChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationReleased,
    DomainEvent,
)
from dispatcher_core.settings import DispatcherSettings


@dataclass
class LoadObserver:
    owner: dict[str, str] = field(default_factory=dict)
    load: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    status: dict[str, PresenceStatus] = field(default_factory=dict)
    assigned_while_not_online: int = 0
    assigned: int = 0

    async def __call__(self, event: DomainEvent) -> None:
        match event:
            case AgentStatusChanged(agent_id=agent, status=status):
                self.status[agent] = status
            case ConversationAssigned(conversation_id=cid, agent_id=agent):
                assert cid not in self.owner, f"{cid} assigned to {agent} while {self.owner.get(cid)} holds it"
                self.assigned += 1
                if self.status.get(agent) is not PresenceStatus.ONLINE:
                    self.assigned_while_not_online += 1
                self.owner[cid] = agent
                self.load[agent] += 1
                self.peak[agent] = max(self.peak[agent], self.load[agent])
            case ConversationReleased(conversation_id=cid) | ConversationClosed(conversation_id=cid):
                if cid in self.owner:
                    self.load[self.owner.pop(cid)] -= 1
            case _:
                pass


def stressful(**overrides: object) -> SimulationConfig:
    """Few agents on shifts with reloads, a small capacity, short deadlines: everything happens."""
    settings = DispatcherSettings(
        agent_capacity=3,
        response_timeout=timedelta(minutes=45),
        inactivity_timeout=timedelta(hours=2),
        timeout_check_interval=timedelta(minutes=10),
        disconnect_grace=timedelta(minutes=2),
    )
    options: dict[str, object] = {
        "agents": 4,
        "messages": 1500,
        "customers": 300,
        "hours": 48,
        "seed": 17,
        "shift_hours": 8,
        "absence_rate": 0.15,
        "reload_rate": 1.0,
        "reply_delay_min": 5,
        "reply_delay_max": 60,
        "close_rate": 0.4,
        "settings": settings,
        **overrides,
    }
    return SimulationConfig(**options)  # type: ignore[arg-type]  # test helper: keys are SimulationConfig fields


def test_capacity_is_never_exceeded_and_is_reached() -> None:
    observer = LoadObserver()
    result = run_simulation(stressful(), observers=[observer])

    assert observer.assigned > 100
    assert max(observer.peak.values()) == 3  # the limit was reached (so this test could fail) ...
    assert all(peak <= 3 for peak in observer.peak.values())  # ... and never passed
    assert observer.assigned_while_not_online == 0  # I3
    data = summary(result)
    assert data["max_load_per_agent"] == {agent: observer.peak[agent] for agent in result.agent_ids}
    assert set(data["violations"].values()) == {0}


def test_every_accepted_message_is_delivered_or_pending() -> None:
    result = run_simulation(stressful())
    data = summary(result)

    final = data["final"]
    assert final["messages_stored"] == data["messages"] == 1500
    assert final["messages_delivered"] + final["pending_messages"] == 1500
    # The stressful run exercised every path.
    assert data["releases"]["disconnected"] > 0
    assert data["closes_by_reason"]["inactivity"] > 0
    assert data["closes_by_reason"]["agent"] > 0
    assert data["pending_wait_seconds"]["count"] > 0
    assert data["scheduler"]["grace_checks"] > 0


def test_response_timeouts_move_conversations_to_agents_with_room() -> None:
    """Rule 6 takes a conversation from its agent only when another agent can take it: with every agent at
    capacity (the stressful run) it stays; with room, late replies make conversations move."""
    full = summary(run_simulation(stressful()))
    roomy_settings = DispatcherSettings(
        agent_capacity=0,
        response_timeout=timedelta(minutes=45),
        inactivity_timeout=timedelta(hours=2),
        timeout_check_interval=timedelta(minutes=10),
        disconnect_grace=timedelta(minutes=2),
    )
    roomy = summary(run_simulation(stressful(settings=roomy_settings)))
    assert roomy["releases"]["response_timeout"] > 0
    assert roomy["final"]["messages_delivered"] + roomy["final"]["pending_messages"] == roomy["messages"]
    assert full["releases"]["response_timeout"] < roomy["releases"]["response_timeout"]


def test_duplicates_are_recognised_exactly() -> None:
    config = SimulationConfig(messages=700, duplicate_rate=0.3, seed=4)
    repeated = sum(delivery.duplicate for delivery in build_workload(config).deliveries)
    data = summary(run_simulation(config))
    assert repeated > 100
    assert data["duplicates"] == repeated
    assert data["deliveries"] == 700 + repeated
    assert data["final"]["messages_stored"] == 700


def test_pending_waits_are_ordered_and_measured_from_the_events() -> None:
    # Two agents, each online 3 h out of 24: customers writing in between wait for the next shift.
    config = SimulationConfig(agents=2, messages=400, hours=24, shift_hours=3, seed=8)
    data = summary(run_simulation(config))
    waits = data["pending_wait_seconds"]
    assert waits["count"] > 50
    assert 0 <= waits["p50"] <= waits["p95"] <= waits["max"]
    assert waits["max"] > 3600  # somebody waited through an empty stretch
    assert data["assignments_by_reason"]["pending"] == waits["count"]


def test_response_timeout_takes_the_conversation_to_another_agent() -> None:
    settings = DispatcherSettings(response_timeout=timedelta(minutes=20), timeout_check_interval=timedelta(minutes=5))
    config = SimulationConfig(
        agents=3, messages=300, hours=12, seed=2, reply_delay_min=30, reply_delay_max=90, settings=settings
    )
    data = summary(run_simulation(config))
    assert data["releases"]["response_timeout"] > 0
    assert data["assignments_by_reason"]["response_timeout"] > 0
    assert data["reassignments"] >= data["assignments_by_reason"]["response_timeout"]


def test_the_daily_distribution_runs_once_a_day_at_its_local_time() -> None:
    # The run starts Monday 08:00 UTC. 09:00 in Tokyo is 00:00 UTC: two of those in 60 h, but three 09:00 UTC.
    tokyo = DispatcherSettings(timezone="Asia/Tokyo")
    assert (
        summary(run_simulation(SimulationConfig(messages=10, hours=60, settings=tokyo)))["scheduler"][
            "scheduled_distributions"
        ]
        == 2
    )
    assert summary(run_simulation(SimulationConfig(messages=10, hours=60)))["scheduler"]["scheduled_distributions"] == 3


def test_shifts_are_staggered_and_last_their_length() -> None:
    config = SimulationConfig(agents=3, messages=0, hours=48, shift_hours=8)
    online: dict[str, float] = dict.fromkeys(("agent-1", "agent-2", "agent-3"), 0.0)
    since: dict[str, float] = {}
    for change in build_workload(config).presence:
        hours = (change.at - config.start).total_seconds() / 3600
        if change.online:
            since[change.agent_id] = hours
        else:
            online[change.agent_id] += hours - since.pop(change.agent_id)
    for agent, start in since.items():
        online[agent] += config.hours - start
    assert online == {"agent-1": 16, "agent-2": 16, "agent-3": 16}


@pytest.mark.parametrize(
    "overrides",
    [
        {"agents": 0},
        {"hours": -1},
        {"reply_delay_min": 3, "reply_delay_max": 1},
        {"close_rate": 2},
        {"off_hours": 4},
        {"shift_hours": -1},
        {"reload_rate": -1},
        {"customers": 0},
    ],
)
def test_invalid_configurations_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(SimulationConfigError):
        SimulationConfig(**overrides)  # type: ignore[arg-type]  # deliberately bad values


def test_html_report_summarises_large_teams_instead_of_drawing_every_agent() -> None:
    from dispatcher_app.simulation import render_html

    page = render_html(run_simulation(SimulationConfig(agents=30, messages=300, seed=1)))
    assert "&#9632; mean" in page
    assert "&#9632; agent-01" not in page
    assert page.count("<polyline") == 4  # max, mean, min; then pending on its own chart


async def test_simulate_runs_in_a_running_event_loop() -> None:
    """``await simulate(...)`` from async code (a test, a notebook, a service) gives what the sync wrapper gives."""
    seen: list[str] = []

    async def observer(event: DomainEvent) -> None:
        seen.append(event.type)

    config = SimulationConfig(agents=3, messages=200, seed=4)
    awaited = await simulate(config, observers=[observer])
    assert summary(awaited) == summary(await asyncio.to_thread(run_simulation, config))
    assert seen.count("conversation.assigned") == sum(summary(awaited)["assignments_per_agent"].values())
