"""Template validation and building: every limit of docs/whatsapp-sender.md, with errors naming the field and
the limit."""

from __future__ import annotations

import pytest

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging import (
    BodyComponent,
    BodyComponentBuilder,
    ButtonComponent,
    ButtonComponentBuilder,
    ButtonKind,
    FooterComponent,
    HeaderComponent,
    HeaderComponentBuilder,
    HeaderFormat,
    InvalidMessage,
    TemplateLimits,
    TemplateMessage,
    TemplateMessageBuilder,
    TemplateMessageValidator,
    TemplateValidationError,
    validate_recipient,
    validate_text_body,
)


def issue_fields(error: TemplateValidationError) -> list[str]:
    return [issue.field for issue in error.issues]


def test_builder_assembles_a_full_template() -> None:
    message = (
        TemplateMessageBuilder("order_update", "en_US")
        .header(HeaderComponentBuilder().text("Order {{1}}").parameter("A-42"))
        .body(BodyComponentBuilder().text("Hello {{1}}, it ships {{2}}.").parameters("Ana", "today"))
        .footer("Reply STOP to opt out")
        .button(ButtonComponentBuilder.quick_reply(payload="track-A-42").label("Track"))
        .button(ButtonComponentBuilder.url(suffix="A-42").label("See order"))
        .build()
    )
    assert message == TemplateMessage(
        name="order_update",
        language="en_US",
        header=HeaderComponent(HeaderFormat.TEXT, text="Order {{1}}", parameters=("A-42",)),
        body=BodyComponent(text="Hello {{1}}, it ships {{2}}.", parameters=("Ana", "today")),
        footer=FooterComponent("Reply STOP to opt out"),
        buttons=(
            ButtonComponent(ButtonKind.QUICK_REPLY, label="Track", payload="track-A-42"),
            ButtonComponent(ButtonKind.URL, label="See order", url_suffix="A-42"),
        ),
    )


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("", "is empty"),
        ("Order_Update", "has other characters"),
        ("order-update", "has other characters"),
        ("a" * 513, "is 513 characters long"),
    ],
)
def test_template_name_rules(name: str, detail: str) -> None:
    with pytest.raises(TemplateValidationError) as caught:
        TemplateMessageBuilder(name).build()
    assert caught.value.field == "name"
    assert "512" in caught.value.limit
    assert detail in caught.value.detail


def test_a_name_of_512_allowed_characters_passes() -> None:
    assert TemplateMessageBuilder("a_1" * 170 + "ab").build().name == "a_1" * 170 + "ab"


@pytest.mark.parametrize("language", ["en", "en_US", "pt_BR", "zh_HK", "fil"])
def test_language_codes_accepted(language: str) -> None:
    assert TemplateMessageBuilder("hello", language).build().language == language


@pytest.mark.parametrize("language", ["", "EN", "english", "en-US"])
def test_language_codes_refused(language: str) -> None:
    with pytest.raises(TemplateValidationError) as caught:
        TemplateMessageBuilder("hello", language).build()
    assert issue_fields(caught.value) == ["language"]


def test_header_text_over_60_characters_once_rendered() -> None:
    builder = HeaderComponentBuilder().text("Order {{1}}").parameter("x" * 55)
    with pytest.raises(TemplateValidationError) as caught:
        builder.build()
    assert caught.value.field == "header.text"
    assert caught.value.limit == "60 characters"
    assert "61 characters once rendered" in str(caught.value)
    assert HeaderComponentBuilder().text("Order {{1}}").parameter("x" * 54).build().parameters == ("x" * 54,)


def test_header_allows_one_variable_only() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        HeaderComponentBuilder().parameter("a").parameter("b").build()
    assert caught.value.field == "header.parameters"
    assert caught.value.limit == "1 variable"


def test_media_header_needs_exactly_one_source_and_a_url() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        HeaderComponentBuilder().image().build()
    assert caught.value.field == "header"
    with pytest.raises(TemplateValidationError) as caught:
        HeaderComponentBuilder().image(link="https://x/a.png", media_id="123").build()
    assert caught.value.field == "header"
    with pytest.raises(TemplateValidationError) as caught:
        HeaderComponentBuilder().video(link="ftp://x/a.mp4").build()
    assert caught.value.field == "header.media_link"
    document = HeaderComponentBuilder().document(media_id="42", filename="invoice.pdf").build()
    assert (document.format, document.media_id, document.filename) == (HeaderFormat.DOCUMENT, "42", "invoice.pdf")


def test_body_text_over_1024_characters_once_rendered() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        BodyComponentBuilder().text("Hi {{1}}").parameter("x" * 1022).build()
    assert (caught.value.field, caught.value.limit) == ("body.text", "1024 characters")
    assert BodyComponentBuilder().text("Hi {{1}}").parameter("x" * 1021).build().parameters[0] == "x" * 1021


def test_body_parameters_alone_over_1024_characters_without_the_text() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        BodyComponentBuilder().parameters("x" * 600, "y" * 425).build()
    assert caught.value.field == "body.parameters"
    assert "1024" in caught.value.limit


def test_body_variables_must_match_the_values() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        BodyComponentBuilder().text("Hi {{1}}, order {{2}}").parameter("Ana").build()
    assert caught.value.field == "body.parameters"
    assert "one value per variable of the text (2)" in caught.value.limit
    with pytest.raises(TemplateValidationError) as caught:
        BodyComponentBuilder().text("Hi {{1}} {{3}}").parameters("a", "b").build()
    assert caught.value.field == "body.text"


@pytest.mark.parametrize(
    ("value", "limit"), [("a\nb", "no new line or tab"), ("a     b", "at most 4 consecutive spaces")]
)
def test_parameters_refuse_what_meta_refuses(value: str, limit: str) -> None:
    with pytest.raises(TemplateValidationError) as caught:
        BodyComponentBuilder().parameters("ok", value).build()
    assert (caught.value.field, caught.value.limit) == ("body.parameters[1]", limit)


def test_footer_over_60_characters() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        TemplateMessageBuilder("hello").footer("f" * 61).build()
    assert (caught.value.field, caught.value.limit) == ("footer.text", "60 characters")
    assert TemplateMessageBuilder("hello").footer("f" * 60).build().footer == FooterComponent("f" * 60)


def test_at_most_10_buttons_and_2_url_buttons() -> None:
    builder = TemplateMessageBuilder("hello")
    for index in range(11):
        builder.button(ButtonComponentBuilder.quick_reply(payload=f"p{index}"))
    with pytest.raises(TemplateValidationError) as caught:
        builder.build()
    assert caught.value.field == "buttons"
    assert caught.value.limit == "10 buttons"

    builder = TemplateMessageBuilder("hello")
    for index in range(3):
        builder.button(ButtonComponentBuilder.url(suffix=f"s{index}"))
    with pytest.raises(TemplateValidationError) as caught:
        builder.build()
    assert caught.value.limit == "2 URL buttons"


def test_button_label_over_25_characters_names_its_position() -> None:
    builder = (
        TemplateMessageBuilder("hello")
        .button(ButtonComponentBuilder.quick_reply(payload="a").label("fine"))
        .button(ButtonComponentBuilder.phone_number().label("x" * 26))
    )
    with pytest.raises(TemplateValidationError) as caught:
        builder.build()
    assert (caught.value.field, caught.value.limit) == ("buttons[1].label", "25 characters")


def test_button_parameters_must_fit_the_kind() -> None:
    validator = TemplateMessageValidator()
    wrong = ButtonComponent(ButtonKind.URL, payload="p")
    assert [issue.field for issue in validator.button_issues(wrong, "buttons[0]")] == ["buttons[0].payload"]
    phone = ButtonComponent(ButtonKind.PHONE_NUMBER, url_suffix="x")
    assert [issue.field for issue in validator.button_issues(phone, "buttons[0]")] == ["buttons[0].url_suffix"]


def test_every_issue_is_reported_at_once() -> None:
    message = TemplateMessage(
        name="Bad Name",
        language="english",
        body=BodyComponent(text="{{1}}", parameters=("x" * 1025,)),
        footer=FooterComponent("f" * 61),
        buttons=tuple(ButtonComponent(ButtonKind.URL, label="l" * 26) for _ in range(3)),
    )
    with pytest.raises(TemplateValidationError) as caught:
        TemplateMessageValidator().validate(message)
    assert issue_fields(caught.value) == [
        "name",
        "language",
        "body.text",
        "footer.text",
        "buttons",
        "buttons[0].label",
        "buttons[1].label",
        "buttons[2].label",
    ]
    assert isinstance(caught.value, InvalidInput)
    assert "footer.text" in str(caught.value)


def test_custom_limits_are_applied() -> None:
    strict = TemplateLimits(buttons=1)
    builder = TemplateMessageBuilder("hello", limits=strict)
    builder.button(ButtonComponentBuilder.quick_reply(payload="a")).button(ButtonComponentBuilder.quick_reply())
    with pytest.raises(TemplateValidationError, match="1 buttons"):
        builder.build()
    with pytest.raises(InvalidInput, match=r"TemplateLimits\.footer_text_length must be >= 1"):
        TemplateLimits(footer_text_length=0)


def test_text_messages_up_to_4096_characters() -> None:
    validate_text_body("x" * 4096)
    with pytest.raises(InvalidMessage) as caught:
        validate_text_body("x" * 4097)
    assert (caught.value.field, caught.value.limit) == ("text", "4096 characters")
    assert "4097" in str(caught.value)
    with pytest.raises(InvalidMessage, match="text: is empty"):
        validate_text_body("   ")


@pytest.mark.parametrize("to", ["33612345678", "+33612345678", "972987654321"])
def test_recipients_accepted(to: str) -> None:
    validate_recipient(to)


@pytest.mark.parametrize("to", ["", "abc", "+33 6 12", "1234"])
def test_recipients_refused(to: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        validate_recipient(to)
    assert caught.value.field == "to"
