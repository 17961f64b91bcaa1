"""Every parameter type Meta defines for template components, checked with a field path per mistake."""

from __future__ import annotations

import pytest

from dispatcher_core.messaging import (
    BodyComponent,
    BodyComponentBuilder,
    ButtonComponentBuilder,
    CurrencyParameter,
    DateTimeParameter,
    HeaderComponent,
    HeaderComponentBuilder,
    HeaderFormat,
    LocationParameter,
    TemplateMessageBuilder,
    TemplateMessageValidator,
    TemplateValidationError,
    TextParameter,
)
from dispatcher_core.messaging.template import render


def fields(error: pytest.ExceptionInfo[TemplateValidationError]) -> list[str]:
    return [issue.field for issue in error.value.issues]


def test_currency_and_date_time_are_rendered_with_their_fallback_value() -> None:
    body = (
        BodyComponentBuilder()
        .text("Total {{1}} due {{2}}.")
        .currency("€12.50", "EUR", 12500)
        .date_time("5 December 2026")
        .build()
    )
    assert body.parameters == (CurrencyParameter("€12.50", "EUR", 12500), DateTimeParameter("5 December 2026"))
    assert render(body.text or "", body.parameters) == "Total €12.50 due 5 December 2026."


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (CurrencyParameter("€1", "eur", 1000), "body.parameters[0].currency.code"),
        (CurrencyParameter("€1", "EURO", 1000), "body.parameters[0].currency.code"),
        # An untyped caller's float: refused, not rounded.
        (CurrencyParameter("€1", "EUR", 1.5), "body.parameters[0].currency.amount_1000"),  # type: ignore[arg-type]
        (CurrencyParameter("€1", "EUR", True), "body.parameters[0].currency.amount_1000"),
        (CurrencyParameter(" ", "EUR", 1000), "body.parameters[0].currency.fallback_value"),
        (DateTimeParameter(""), "body.parameters[0].date_time.fallback_value"),
        (DateTimeParameter("a\nb"), "body.parameters[0].date_time.fallback_value"),
        (TextParameter("x     y"), "body.parameters[0]"),
    ],
)
def test_bad_values_are_named_by_their_path(value: CurrencyParameter | DateTimeParameter, field: str) -> None:
    with pytest.raises(TemplateValidationError) as caught:
        BodyComponentBuilder().parameter(value).build()
    assert fields(caught) == [field]


def test_named_parameters_fill_named_variables() -> None:
    body = (
        BodyComponentBuilder()
        .text("Hello {{first_name}}, order {{order_id}} costs {{total}}.")
        .named("first_name", "Ana")
        .named("order_id", "A-42")
        .currency("$5", "USD", 5000, name="total")
        .build()
    )
    assert render(body.text or "", body.parameters) == "Hello Ana, order A-42 costs $5."
    with pytest.raises(TemplateValidationError) as missing:
        BodyComponentBuilder().text("Hello {{first_name}} {{last_name}}").named("first_name", "Ana").build()
    assert fields(missing) == ["body.parameters"]
    assert "last_name" in missing.value.issues[0].limit


def test_named_and_positional_values_do_not_mix_and_names_are_unique_and_well_formed() -> None:
    with pytest.raises(TemplateValidationError) as mixed:
        BodyComponentBuilder().named("first_name", "Ana").parameter("B").build()
    assert fields(mixed) == ["body.parameters"]
    with pytest.raises(TemplateValidationError) as twice:
        BodyComponentBuilder().named("a", "1").named("a", "2").build()
    assert fields(twice) == ["body.parameters[1].name"]
    with pytest.raises(TemplateValidationError) as bad:
        BodyComponentBuilder().named("First Name", "Ana").build()
    assert fields(bad) == ["body.parameters[0].name"]


def test_a_header_variable_may_be_a_currency_or_a_date() -> None:
    header = HeaderComponentBuilder().text("Due {{1}}").date_time("Monday").build()
    assert header.parameters == (DateTimeParameter("Monday"),)
    with pytest.raises(TemplateValidationError) as caught:
        HeaderComponentBuilder().text("{{1}}").currency("x" * 61, "EUR", 1).build()
    assert fields(caught) == ["header.text"]


def test_location_header() -> None:
    header = HeaderComponentBuilder().location(48.8584, 2.2945, name="Tour Eiffel", address="Paris").build()
    assert header.format is HeaderFormat.LOCATION
    assert header.location == LocationParameter(48.8584, 2.2945, "Tour Eiffel", "Paris")
    with pytest.raises(TemplateValidationError) as caught:
        HeaderComponentBuilder().location(91, -181, name=" ").build()
    assert fields(caught) == ["header.location.latitude", "header.location.longitude", "header.location.name"]
    issues = TemplateMessageValidator().header_issues(HeaderComponent(HeaderFormat.LOCATION))
    assert [issue.field for issue in issues] == ["header.location"]
    text_with_location = HeaderComponent(HeaderFormat.TEXT, location=LocationParameter(1, 1))
    assert [i.field for i in TemplateMessageValidator().header_issues(text_with_location)] == ["header.location"]


def test_copy_code_and_flow_buttons() -> None:
    message = (
        TemplateMessageBuilder("coupon")
        .body(BodyComponent(parameters=("Ana",)))
        .button(ButtonComponentBuilder.copy_code("SAVE20"))
        .button(ButtonComponentBuilder.flow("flow-token-1"))
        .build()
    )
    assert (message.buttons[0].coupon_code, message.buttons[1].flow_token) == ("SAVE20", "flow-token-1")
    with pytest.raises(TemplateValidationError) as long_code:
        ButtonComponentBuilder.copy_code("C" * 16).build(2)
    assert fields(long_code) == ["buttons[2].coupon_code"]
    assert long_code.value.issues[0].limit == "15 characters"
    with pytest.raises(TemplateValidationError) as blank:
        ButtonComponentBuilder.flow(" ").build()
    assert fields(blank) == ["buttons[0].flow_token"]
