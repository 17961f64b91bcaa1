"""``dispatcher simulate`` through the real CLI entry point, in-process, with stdout captured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatcher_app.cli import main


def simulate(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    assert main(["simulate", "--progress", "never", *options]) == 0
    return capsys.readouterr().out


def simulate_json(capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(simulate(capsys, "--json", *options))
    return data


def test_the_issue_command_is_fair_and_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "--agents", "5", "--messages", "1000", "--seed", "1")

    per_agent = data["assignments_per_agent"]
    assert sorted(per_agent) == ["agent-1", "agent-2", "agent-3", "agent-4", "agent-5"]
    assert sum(per_agent.values()) == data["conversations"] > 0
    assert data["spread"] == max(per_agent.values()) - min(per_agent.values()) <= 1
    assert data["messages"] == 1000
    assert data["deliveries"] == data["messages"] + data["duplicates"]
    assert data["duplicates"] > 0
    assert data["final"]["messages_stored"] == data["final"]["messages_delivered"] == 1000
    assert set(data["violations"].values()) == {0}
    assert data["pending_wait_seconds"]["count"] == 0  # everyone online, no capacity: nothing ever waits


@pytest.mark.parametrize(("agents", "seed"), [(2, 7), (7, 3), (13, 11)])
def test_spread_is_at_most_one_with_everyone_online_and_no_capacity(
    capsys: pytest.CaptureFixture[str], agents: int, seed: int
) -> None:
    data = simulate_json(
        capsys, "--agents", str(agents), "--messages", "600", "--seed", str(seed), "--close-rate", "0.6"
    )
    counts = list(data["assignments_per_agent"].values())
    assert len(counts) == agents
    assert max(counts) - min(counts) <= 1
    assert data["spread"] <= 1
    assert data["closes"] > 0  # closes happened, so later messages opened new conversations


def test_same_seed_prints_byte_identical_json(capsys: pytest.CaptureFixture[str]) -> None:
    options = ("--agents", "4", "--messages", "800", "--seed", "42", "--shift-hours", "6", "--reload-rate", "1")
    first = simulate(capsys, "--json", *options)
    second = simulate(capsys, "--json", *options)
    assert first == second
    assert first.startswith("{")
    assert first.endswith("}\n")
    assert json.loads(first)["config"]["seed"] == 42  # one JSON object, nothing around it


def test_same_seed_prints_the_same_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate(capsys, "--messages", "300", "--seed", "5") == simulate(capsys, "--messages", "300", "--seed", "5")


def test_a_different_seed_gives_a_different_run(capsys: pytest.CaptureFixture[str]) -> None:
    one = simulate_json(capsys, "--messages", "500", "--seed", "1")
    two = simulate_json(capsys, "--messages", "500", "--seed", "2")
    assert one["config"]["seed"] != two["config"]["seed"]
    del one["config"], two["config"]
    assert one != two


def test_text_report_names_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    out = simulate(capsys, "--agents", "3", "--messages", "200", "--seed", "9")
    for expected in ("fairness spread (max - min):", "agent-1", "agent-3", "duplicates ignored", "Pending waits"):
        assert expected in out


def test_progress_goes_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--messages", "100", "--json", "--progress", "always"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["messages"] == 100
    assert "simulating [" in captured.err
    assert "100.0%" in captured.err


def test_html_report_is_self_contained_and_deterministic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    options = ("--agents", "4", "--messages", "400", "--seed", "3", "--shift-hours", "8", "--capacity", "3")
    simulate(capsys, "--report", str(tmp_path / "a.html"), *options)
    simulate(capsys, "--report", str(tmp_path / "b.html"), *options)
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert page == (tmp_path / "b.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 4
    assert "<polyline" in page  # load over time
    assert "<rect" in page  # bars and histogram
    for external in ("<script", "src=", "href=", "@import", "url("):
        assert external not in page


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (["--agents", "0"], "--agents"),
        (["--agents", "many"], "--agents"),
        (["--messages", "-1"], "--messages"),
        (["--customers", "0"], "--customers"),
        (["--hours", "0"], "--hours"),
        (["--duplicate-rate", "1.5"], "--duplicate-rate"),
        (["--absence-rate", "-0.1"], "--absence-rate"),
        (["--close-rate", "nan"], "--close-rate"),
        (["--hours", "inf"], "--hours"),
        (["--reply-delay-min", "10", "--reply-delay-max", "5"], "--reply-delay-min"),
        (["--capacity", "-2"], "--capacity"),
        (["--response-timeout", "0"], "--response-timeout"),
        (["--timeout-check-interval", "soon"], "--timeout-check-interval"),
        (["--grace", "-5s"], "--grace"),
        (["--distribution-time", "25:00"], "--distribution-time"),
        (["--timezone", "Mars/Olympus_Mons"], "--timezone"),
        (["--off-hours", "8"], "--off-hours"),
        (["--seed", "1.5"], "--seed"),
        (["--report", "/nonexistent-dir/x/report.html"], "--report"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], options: list[str], complaint: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--json", *options])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert complaint in captured.err
    assert "error:" in captured.err
    assert not Path("/nonexistent-dir").exists()


_HASH_SEED_SCRIPT = """
from dispatcher_core.settings import DispatcherSettings
from dispatcher_app.simulation import SimulationConfig, render_json, run_simulation
config = SimulationConfig(
    agents=5, messages=800, seed=3, shift_hours=6, reload_rate=1, settings=DispatcherSettings(agent_capacity=4)
)
print(render_json(run_simulation(config)), end="")
"""


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    """Separate processes with different string hashing print the same JSON (no set order leaks out). The
    script imports the simulation package only, not the whole CLI, to keep the test quick."""
    import os
    import subprocess
    import sys

    outputs = {
        subprocess.run(
            [sys.executable, "-c", _HASH_SEED_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["messages"] == 800


def test_policy_least_busy_balances_load_and_breaks_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Everyone online, conversations closed at random: round-robin keeps the numbers of *new assignments*
    within one of each other (I4) while the open loads drift apart; least busy keeps the *loads* level
    instead, so the assignment counts drift."""
    options = ("--agents", "4", "--messages", "1500", "--seed", "5", "--close-rate", "0.3")
    fair = simulate_json(capsys, *options)
    balanced = simulate_json(capsys, *options, "--policy", "least_busy")
    assert fair["config"]["routing_policy"] == "round_robin"
    assert balanced["config"]["routing_policy"] == "least_busy"
    assert set(balanced["violations"].values()) == {0}
    assert balanced["final"]["messages_stored"] == balanced["final"]["messages_delivered"] == 1500

    def peak_spread(data: dict[str, Any]) -> int:
        peaks: list[int] = list(data["max_load_per_agent"].values())
        return max(peaks) - min(peaks)

    assert peak_spread(balanced) < peak_spread(fair)
    assert fair["spread"] <= 1 < balanced["spread"]
    assert "settings: least_busy, capacity unlimited" in simulate(capsys, *options, "--policy", "least_busy")


def test_an_unknown_policy_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--policy", "fastest"])
    assert exit_info.value.code == 2
    assert "--policy: invalid choice: 'fastest'" in capsys.readouterr().err
