"""The dashboard in a real browser, on a running ``dispatcher demo``: headless Chromium (Debian's, driven by
Playwright through its executable path) shows the agents, the round-robin order and the pending
conversations the admin API reports, sees them change, and leaves a screenshot in
``test-artifacts/dashboard.png``.

Without Chromium the test is skipped and says why - unless ``CI`` or ``DISPATCHER_REQUIRE_SERVICES`` is set
(as in ``.ci/run``, which installs it with ``.ci/install-chromium``): then it fails, so CI cannot pass by
skipping it. Same rule as the PostgreSQL and Redis tests (root ``conftest.py``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from .conftest import DemoProcess, running_demo

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_SHOWN = """() => {
  const cards = [...document.querySelectorAll('#agents .agent')];
  return {
    queue: cards.filter((card) => card.dataset.position).map((card) => card.dataset.agentId),
    loads: Object.fromEntries(cards.map((card) => [card.dataset.agentId, Number(card.dataset.load)])),
    pending: Number(document.getElementById('kpi-pending').dataset.value),
    pending_rows: document.querySelectorAll('#pending .pending-item').length,
    connection: document.getElementById('connection').dataset.state,
  };
}"""


def _required() -> bool:
    """The root conftest's rule (``services_required``): CI must not pass by skipping."""
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}
        for name in ("CI", "DISPATCHER_REQUIRE_SERVICES")
    )


def chromium_path() -> str:
    found = shutil.which("chromium") or next(
        (path for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(path).exists()), None
    )
    if found is None:
        reason = "Chromium is not installed: the dashboard browser test needs it (bash .ci/install-chromium)"
        if _required():
            pytest.fail(f"{reason} - required because CI/DISPATCHER_REQUIRE_SERVICES is set")
        pytest.skip(reason)
    return found


def shown(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(_SHOWN)
    return state


def reported(demo: DemoProcess) -> dict[str, Any]:
    rows = demo.admin("/admin/queue").json()["agents"]
    queued = sorted((row for row in rows if row["position"] is not None), key=lambda row: row["position"])
    return {
        "queue": [row["agent_id"] for row in queued],
        "loads": {row["agent_id"]: row["active_conversations"] for row in rows},
        "pending": len(demo.admin("/admin/pending").json()["conversations"]),
    }


def agrees(page_state: dict[str, Any], api: dict[str, Any]) -> bool:
    """The page shows what the API reports: same queue order, same pending count, same loads (agents the
    API no longer lists are offline with nothing: the page shows them with no load)."""
    loads = {agent: page_state["loads"].get(agent, 0) for agent in api["loads"]}
    others = {agent: load for agent, load in page_state["loads"].items() if agent not in api["loads"]}
    return (
        page_state["queue"] == api["queue"]
        and page_state["pending"] == api["pending"] == page_state["pending_rows"]
        and loads == api["loads"]
        and not any(others.values())
    )


def wait_for(condition: Any, what: str, give_up_after: float) -> None:
    """Poll ``condition()`` until true; the limit only keeps a broken test from hanging."""
    deadline = time.monotonic() + give_up_after
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {give_up_after}s: {what}")
        time.sleep(0.2)


def test_the_dashboard_shows_the_live_queue_and_pending_conversations(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    executable = chromium_path()
    artifact = request.config.rootpath / "test-artifacts" / "dashboard.png"
    artifact.parent.mkdir(exist_ok=True)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The wrong token's refusals (401 on /admin, 4401 on the socket) are expected; anything else is not.
        if message.type == "error" and "401" not in message.text:
            problems.append(f"console: {message.text}")

    # Two places per agent and four agents for about two and a half messages per second: conversations
    # regularly wait, so the pending count moves as well as the queue.
    args = ("--agents", "4", "--capacity", "2", "--rate", "2.5", "--seed", "21", "--duration", "150")
    with running_demo(tmp_path, *args) as demo, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("console", on_console)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            # A wrong token is refused and asked for again; the right one, typed in the form, opens it.
            page.goto(f"{demo.base_url}/dashboard?token=not-the-admin-token")
            page.wait_for_selector("#login-error:not([hidden])", timeout=30_000)
            assert "refused" in page.inner_text("#login-error")
            assert "token=" not in page.url, "the token is removed from the address bar"
            page.fill("#login-token", demo.admin_token)
            page.click("#login button[type=submit]")
            page.wait_for_selector('#connection[data-state="live"]', timeout=30_000)
            assert page.is_hidden("#login")
            page.wait_for_selector('#agents .agent[data-position="1"]', timeout=30_000)

            # What the page shows is what the admin API reports (read between two looks at the page, so
            # that nothing changed in between).
            def consistent() -> bool:
                before = shown(page)
                api = reported(demo)
                return agrees(before, api) and agrees(shown(page), api)

            wait_for(consistent, "the page shows the queue, loads and pending count of the admin API", 45)

            # ... and it changes as the demo goes on.
            orders: set[tuple[str, ...]] = set()
            pending_counts: set[int] = set()

            def changed() -> bool:
                state = shown(page)
                orders.add(tuple(state["queue"]))
                pending_counts.add(state["pending"])
                return len(orders) >= 3 and len(pending_counts) >= 2

            wait_for(changed, "the queue order and the pending count change", 60)
            wait_for(consistent, "the page still agrees with the admin API", 45)

            names = page.locator("#agents .agent .name").all_inner_texts()
            assert set(names) <= {"amina", "bruno", "chloe", "diego"}
            assert page.locator("#feed .event").count() > 0
            assert shown(page)["connection"] == "live"

            # For the screenshot, a moment with somebody waiting if one comes soon.
            deadline = time.monotonic() + 10
            while shown(page)["pending"] == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            page.screenshot(path=str(artifact), full_page=True)
        finally:
            browser.close()
        assert demo.stop() == 0, demo.output()
    assert problems == []
    assert artifact.stat().st_size > 10_000
