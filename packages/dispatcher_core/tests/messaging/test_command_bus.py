"""Commands validate on construction; the bus routes each command type to its one handler."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher_core.messaging import (
    BodyComponent,
    BulkJob,
    BulkSendTemplate,
    Command,
    CommandBus,
    HandlerAlreadyRegistered,
    HandlerNotFound,
    InvalidMessage,
    SendTemplateMessage,
    SendTextMessage,
    TemplateMessage,
    TemplateValidationError,
)
from dispatcher_core.messaging.commands import MAX_BULK_RECIPIENTS

TEMPLATE = TemplateMessage("promo", "en_US", body=BodyComponent(parameters=("Ana",)))


def test_send_text_refuses_bad_fields_naming_them() -> None:
    with pytest.raises(InvalidMessage) as caught:
        SendTextMessage(to="33612345678", text="x" * 4097)
    assert (caught.value.field, caught.value.limit) == ("text", "4096 characters")
    with pytest.raises(InvalidMessage) as caught:
        SendTextMessage(to="not-a-number", text="hi")
    assert caught.value.field == "to"


def test_send_template_validates_the_template() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        SendTemplateMessage(to="33612345678", template=TemplateMessage("Bad", "en_US"))
    assert caught.value.field == "name"


def test_bulk_recipients_are_checked_one_by_one() -> None:
    with pytest.raises(InvalidMessage) as caught:
        BulkSendTemplate(recipients=(), template=TEMPLATE)
    assert caught.value.field == "recipients"
    with pytest.raises(InvalidMessage) as caught:
        BulkSendTemplate(recipients=("33600000001", "oops"), template=TEMPLATE)
    assert caught.value.field == "recipients[1]"
    with pytest.raises(InvalidMessage) as caught:
        BulkSendTemplate(recipients=("33600000001", "33600000002", "33600000001"), template=TEMPLATE)
    assert caught.value.field == "recipients[2]"
    assert "repeats recipients[0]" in str(caught.value)
    too_many = tuple(f"336{i:08d}" for i in range(MAX_BULK_RECIPIENTS + 1))
    with pytest.raises(InvalidMessage) as caught:
        BulkSendTemplate(recipients=too_many, template=TEMPLATE)
    assert caught.value.limit == f"{MAX_BULK_RECIPIENTS} recipients"


async def test_dispatch_runs_the_registered_handler_and_returns_its_result() -> None:
    bus = CommandBus()
    seen: list[BulkSendTemplate] = []

    async def handle(command: BulkSendTemplate) -> BulkJob:
        seen.append(command)
        return BulkJob(id="job-1", total=len(command.recipients))

    bus.register(BulkSendTemplate, handle)
    command = BulkSendTemplate(recipients=("33600000001", "33600000002"), template=TEMPLATE)
    job = await bus.dispatch(command)
    assert job == BulkJob(id="job-1", total=2)
    assert seen == [command]
    assert bus.handles(BulkSendTemplate)
    assert not bus.handles(SendTextMessage)


async def test_dispatch_without_handler_and_double_registration_are_errors() -> None:
    bus = CommandBus()
    with pytest.raises(HandlerNotFound, match="SendTextMessage"):
        await bus.dispatch(SendTextMessage(to="33612345678", text="hi"))

    async def handle(command: SendTextMessage) -> None:
        return None

    bus.register(SendTextMessage, handle)
    with pytest.raises(HandlerAlreadyRegistered):
        bus.register(SendTextMessage, handle)


async def test_observer_sees_every_dispatch_with_its_duration_and_error() -> None:
    observed: list[tuple[str, float, type[BaseException] | None]] = []
    ticks = iter([10.0, 10.5, 20.0, 20.25])

    def observer(command: Command[Any], seconds: float, error: BaseException | None) -> None:
        observed.append((type(command).__name__, seconds, type(error) if error else None))

    bus = CommandBus(observer=observer, timer=lambda: next(ticks))

    async def handle(command: BulkSendTemplate) -> BulkJob:
        if len(command.recipients) > 1:
            raise RuntimeError("handler failed")
        return BulkJob(id="j", total=1)

    bus.register(BulkSendTemplate, handle)
    assert await bus.dispatch(BulkSendTemplate(recipients=("33600000001",), template=TEMPLATE)) == BulkJob("j", 1)
    with pytest.raises(RuntimeError, match="handler failed"):
        await bus.dispatch(BulkSendTemplate(recipients=("33600000001", "33600000002"), template=TEMPLATE))
    assert observed == [("BulkSendTemplate", 0.5, None), ("BulkSendTemplate", 0.25, RuntimeError)]


async def test_a_failing_observer_does_not_change_the_outcome() -> None:
    def observer(command: Command[Any], seconds: float, error: BaseException | None) -> None:
        raise ValueError("observer bug")

    bus = CommandBus(observer=observer)

    async def handle(command: BulkSendTemplate) -> BulkJob:
        return BulkJob(id="j", total=1)

    bus.register(BulkSendTemplate, handle)
    assert await bus.dispatch(BulkSendTemplate(recipients=("33600000001",), template=TEMPLATE)) == BulkJob("j", 1)
