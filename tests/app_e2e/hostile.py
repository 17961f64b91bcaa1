"""Hostile webhook bodies for the fuzz tests and ``benches/robustness/fuzz_webhooks.py``.

A *plan* is drawn by hypothesis: per message, valid or poisoned in one of the ways that used to break a store
(a lone surrogate or a NUL character in a text, an id, a sender or a profile name; an id, sender, name or text
over its limit), mixed with junk items of every JSON type. :func:`build_body` turns a plan into a body with
fresh unique ids and says which messages must be stored: every valid one, none of the poisoned ones, whatever
their neighbours (invariant I10).

:data:`free_bodies` is shapeless JSON salted with the same hostile strings, for "never a 5xx" only.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher_app.testing import signed_webhook_headers
from dispatcher_core.entities.limits import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_TEXT_LENGTH

__all__ = ["BuiltBody", "Fuzzer", "Plan", "build_body", "free_bodies", "plans"]

SURROGATES = ["\ud800", "\udfff", "a\udc80b", "\ud83d"]  # lone halves (a pair of them would be one emoji)
POISONS = (
    "surrogate_text",
    "nul_text",
    "long_text",
    "surrogate_id",
    "nul_id",
    "long_id",
    "surrogate_from",
    "nul_from",
    "long_from",
    "surrogate_name",
    "nul_name",
    "long_name",
    "surrogate_type",
)

# Text a customer may send: anything but surrogates (categories Cs) and NUL.
valid_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
junk: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=6)
    | st.sampled_from(SURROGATES),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)


@dataclass(frozen=True)
class Plan:
    #: per message: ``"valid"`` or one of :data:`POISONS`, with the text it carries
    messages: list[tuple[str, str]]
    #: junk items slipped into the messages array (non-objects: counted as unknown)
    junk_items: list[Any]
    #: how many changes the messages are spread over
    changes: int


plans = st.builds(
    Plan,
    messages=st.lists(st.tuples(st.just("valid") | st.sampled_from(POISONS), valid_text), min_size=1, max_size=6),
    junk_items=st.lists(junk.filter(lambda item: not isinstance(item, dict)), max_size=2),
    changes=st.integers(1, 3),
)


@dataclass
class BuiltBody:
    body: bytes
    business_number_id: str
    must_store: dict[str, str] = field(default_factory=dict)  # external id -> text
    must_not_store: set[str] = field(default_factory=set)


def _message(kind: str, text: str, tag: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A message dict and its contact entry, poisoned as ``kind`` says."""
    message_id, customer = f"wamid.{tag}", f"c{tag}"
    message: dict[str, Any] = {"from": customer, "id": message_id, "timestamp": "1700000000", "type": "text"}
    name = "Customer"
    match kind:
        case "surrogate_text":
            text += "\ud800"
        case "nul_text":
            text += "\x00"
        case "long_text":
            text = "x" * (MAX_TEXT_LENGTH + 1)
        case "surrogate_id":
            message["id"] = message_id + "\udfff"
        case "nul_id":
            message["id"] = message_id + "\x00"
        case "long_id":
            message["id"] = message_id + "9" * MAX_ID_LENGTH
        case "surrogate_from":
            customer = message["from"] = customer + "\ud800"
        case "nul_from":
            customer = message["from"] = customer + "\x00"
        case "long_from":
            customer = message["from"] = customer + "1" * MAX_ID_LENGTH
        case "surrogate_name":
            name = "Ann \udc80"
        case "nul_name":
            name = "Ann\x00"
        case "long_name":
            name = "n" * (MAX_NAME_LENGTH + 1)
        case "surrogate_type":
            message["type"] = "text\ud800"
    message["text"] = {"body": text}
    contact = {"profile": {"name": name}, "wa_id": customer}
    return message, contact


def build_body(plan: Plan, business_number_id: str = "15550001111") -> BuiltBody:
    """The signed-to-be bytes of ``plan`` with ids no other body has."""
    built = BuiltBody(b"", business_number_id)
    changes: list[dict[str, Any]] = [
        {
            "field": "messages",
            "value": {"metadata": {"phone_number_id": business_number_id}, "messages": [], "contacts": []},
        }
        for _ in range(plan.changes)
    ]
    for index, (kind, text) in enumerate(plan.messages):
        tag = uuid.uuid4().hex
        message, contact = _message(kind, text, tag)
        value = changes[index % plan.changes]["value"]
        value["messages"].append(message)
        if contact is not None:
            value["contacts"].append(contact)
        if kind == "valid":
            built.must_store[message["id"]] = text
        else:
            built.must_not_store.add(f"wamid.{tag}")
    for item in plan.junk_items:
        changes[0]["value"]["messages"].append(item)
    body = {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": changes}]}
    built.body = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \ud800 escapes, as in JSON
    return built


_keys = st.sampled_from(
    [
        "object",
        "entry",
        "changes",
        "field",
        "value",
        "metadata",
        "phone_number_id",
        "messages",
        "statuses",
        "contacts",
        "profile",
        "name",
        "wa_id",
        "errors",
        "id",
        "from",
        "type",
        "text",
        "body",
        "timestamp",
    ]
)
_leaves = (
    st.none()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["messages", "whatsapp_business_account", "text", "\x00", *SURROGATES])
)
_shaped: st.SearchStrategy[Any] = st.recursive(
    _leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=40,
)
#: Bodies that look like webhooks in places and like nothing in others.
free_bodies: st.SearchStrategy[Any] = (
    st.builds(
        lambda entries: {"object": "whatsapp_business_account", "entry": entries},
        st.lists(st.builds(lambda changes: {"changes": changes}, st.lists(_shaped, max_size=3)), max_size=3),
    )
    | _shaped
)


class Fuzzer:
    """Posts fuzzed signed bodies to a running server and keeps what the store must hold afterwards."""

    def __init__(self, client: httpx.Client, app_secret: str, admin_headers: dict[str, str]) -> None:
        self.client = client
        self.app_secret = app_secret
        self.admin_headers = admin_headers
        self.must_store: dict[str, str | None] = {}
        self.must_not_store: set[str] = set()
        self.free_accepted = 0
        self.statuses: Counter[int] = Counter()
        self.server_errors = 0

    def post(self, body: bytes) -> httpx.Response:
        response = self.client.post(
            "/webhooks/whatsapp", content=body, headers=signed_webhook_headers(body, self.app_secret)
        )
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors += 1
        return response

    def run_planned(self, examples: int) -> None:
        """Planned bodies: each answered 200 with exact counts (accepted = valid, invalid = poisoned)."""

        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(plan=plans)
        def one(plan: Plan) -> None:
            built = build_body(plan)
            response = self.post(built.body)
            assert response.status_code == 200, response.text
            counts = response.json()
            assert counts["accepted"] == len(built.must_store), (plan, counts)
            assert counts["invalid"] == len(built.must_not_store), (plan, counts)
            assert counts["duplicates"] == 0
            self.must_store.update({key: text or None for key, text in built.must_store.items()})
            self.must_not_store.update(built.must_not_store)

        one()

    def run_free(self, examples: int) -> None:
        """Shapeless bodies: never a 5xx; counts what was answered accepted."""

        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(body=free_bodies)
        def one(body: Any) -> None:
            response = self.post(json.dumps(body).encode())
            assert response.status_code < 500, response.text
            if response.status_code == 200:
                self.free_accepted += response.json()["accepted"]

        one()

    def stored(self) -> dict[str, str | None]:
        """Every stored message (external id -> text), through the admin routes, which must all answer 200."""
        found: dict[str, str | None] = {}
        offset = 0
        while True:
            page = self.client.get(
                "/admin/conversations", params={"limit": 500, "offset": offset}, headers=self.admin_headers
            )
            assert page.status_code == 200, page.text
            conversations = page.json()["conversations"]
            for conversation in conversations:
                detail = self.client.get(f"/admin/conversations/{conversation['id']}", headers=self.admin_headers)
                assert detail.status_code == 200, detail.text
                for message in detail.json()["messages"]:
                    assert message["external_id"] not in found
                    found[message["external_id"]] = message["text"]
            if len(conversations) < 500:
                return found
            offset += 500
