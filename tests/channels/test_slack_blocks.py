"""Slack Block Kit rendering: concrete replies, then properties over generated hostile ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.replies import Button, Fields, Reply, Table
from bot.channels.slack_blocks import (
    ACTION_ID,
    EMPTY,
    MAX_BLOCKS,
    MAX_MESSAGE_TEXT,
    SlackMessage,
    action_id,
    escape,
    family_of,
    render,
)

# --- helpers -------------------------------------------------------------------------------------------------


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def squash(text: str) -> str:
    return "".join(text.split())


def sections(message: SlackMessage) -> list[dict[str, Any]]:
    return [block for block in message.blocks if block["type"] == "section"]


def buttons(message: SlackMessage) -> list[dict[str, Any]]:
    return [element for block in message.blocks if block["type"] == "actions" for element in block["elements"]]


def texts(message: SlackMessage) -> Iterator[str]:
    """Every string Slack shows from the message's blocks, in order."""
    for block in message.blocks:
        if "text" in block:
            yield block["text"]["text"]
        for field in block.get("fields", ()):
            yield field["text"]
        for element in block.get("elements", ()):
            yield element["text"]["text"]


def shown(messages: list[SlackMessage]) -> str:
    """All section text and fields of a reply's messages, unescaped, in order."""
    return "\n".join(
        unescape(text)
        for message in messages
        for block in sections(message)
        for text in ([block["text"]["text"]] if "text" in block else []) + [field["text"] for field in block.get("fields", ())]
    )


# --- concrete examples ---------------------------------------------------------------------------------------


def test_a_payslip_longer_than_ten_rows_is_split_into_sections_of_key_value_fields_under_its_bold_title() -> None:
    rows = tuple((f"Earning {n}", f"{n * 1000:,} UZS") for n in range(1, 13))
    [message] = render(Reply("Your payslip for November 2026:", blocks=(Fields(rows, title="Earnings"),), private=True))

    intro, *payslip = sections(message)
    assert intro["text"] == {"type": "mrkdwn", "text": "Your payslip for November 2026:", "verbatim": True}
    assert payslip[0]["text"]["text"] == "*Earnings*"
    assert [len(section["fields"]) for section in payslip] == [10, 10, 4]
    cells = [field["text"] for section in payslip for field in section["fields"]]
    assert cells == [cell for row in rows for cell in row]
    assert message.text == "Your payslip for November 2026:"


def test_a_table_reads_as_one_card_per_row_with_the_header_names_as_labels() -> None:
    table = Table(
        header=("#", "Type", "Dates", "Status", "Decider"),
        rows=(("42", "Annual", "1–5 Dec", "pending", ""), ("43", "Sick", "7 Dec", "approved", "James Wilson")),
        title="Your requests",
    )
    [message] = render(Reply("", blocks=(table,)))

    assert [block["text"]["text"] for block in message.blocks] == [
        "*Your requests*\n"
        "*#42*\nType: Annual · Dates: 1–5 Dec · Status: pending\n\n"
        "*#43*\nType: Sick · Dates: 7 Dec · Status: approved · Decider: James Wilson"
    ]
    assert message.text == "Your requests"


def test_a_table_of_many_rows_costs_a_few_blocks_not_one_per_row() -> None:
    rows = tuple((f"Item {n}", "SR-1", str(n)) for n in range(120))
    messages = render(Reply("Low stock:", blocks=(Table(("Item", "Location", "Available"), rows),)))

    assert len(messages) == 1 and len(messages[0].blocks) < 10
    assert all(f"*Item {n}*\nLocation: SR-1 · Available: {n}" in shown(messages) for n in range(120))


def test_buttons_are_an_actions_block_with_an_action_id_per_family_and_position_and_the_payload_as_value() -> None:
    reply = Reply(
        "Annual leave, 1–5 Dec: 5 working days.",
        buttons=(Button("Approve", "leave:approve:42"), Button("Reject", "leave:reject:42"), Button("Yes", "form:0a1b2c3d:yes")),
    )
    [message] = render(reply)

    assert message.blocks[-1] == {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "leave-0", "value": "leave:approve:42"},
            {"type": "button", "text": {"type": "plain_text", "text": "Reject"}, "action_id": "leave-1", "value": "leave:reject:42"},
            {"type": "button", "text": {"type": "plain_text", "text": "Yes"}, "action_id": "form-2", "value": "form:0a1b2c3d:yes"},
        ],
    }
    assert [family_of(button["action_id"]) for button in buttons(message)] == ["leave", "leave", "form"]


def test_action_ids_name_the_family_and_only_ids_we_write_have_one() -> None:
    assert action_id("ticket:take:7", 3) == "ticket-3"
    assert action_id("Not a family:1", 0) == "button-0"
    assert action_id("", 1) == "button-1"
    assert family_of("leave-12") == "leave"
    assert ACTION_ID.search("leave-12") and not ACTION_ID.search("xleave-12 ")
    for foreign in ("leave", "leave-", "Leave-1", "leave-1-2", "-1", "leave-1\n", "approve_button"):
        assert family_of(foreign) is None, foreign


def test_more_than_25_buttons_make_several_actions_blocks_with_ids_unique_in_the_message() -> None:
    reply = Reply("Pick an item:", buttons=tuple(Button(f"Item {n}", f"stock:show:{n + 1}") for n in range(60)))
    [message] = render(reply)

    assert [len(block["elements"]) for block in message.blocks if block["type"] == "actions"] == [25, 25, 10]
    ids = [button["action_id"] for button in buttons(message)]
    assert len(set(ids)) == 60 and ids[-1] == "stock-59"


def test_a_long_label_is_cut_to_75_characters_with_an_ellipsis_never_inside_an_escape() -> None:
    [message] = render(Reply("?", buttons=(Button("Printer & scanner " * 10, "intent:help"), Button("&" * 80, "intent:help"))))
    first, second = (button["text"]["text"] for button in buttons(message))
    assert units(first) <= 75 and first.endswith("…")
    assert ("Printer &amp; scanner " * 10).startswith(first[:-1])
    assert units(second) <= 75 and second == "&amp;" * 14 + "…"


def test_a_10000_character_answer_is_split_at_lines_and_words_under_every_limit_and_loses_nothing() -> None:
    paragraph = " ".join(f"word{n}" for n in range(160))  # about 1,100 characters
    text = "\n".join([paragraph] * 9)[:10_000]
    assert len(text) == 10_000
    messages = render(Reply(text, buttons=(Button("Yes", "form:0a1b2c3d:yes"),)))

    assert len(messages) == 2
    assert all(units(block["text"]["text"]) <= 3000 for message in messages for block in sections(message))
    assert squash(shown(messages)) == squash(text)
    assert buttons(messages[-1]) and not buttons(messages[0])  # the buttons stay with the last part
    assert all(units(message.text) <= 150 for message in messages)


def test_a_single_word_longer_than_a_section_is_cut_between_characters_never_inside_an_escape_or_emoji() -> None:
    for word in ("&" * 1000, "a<" * 1600, "😀" * 2000):
        messages = render(Reply(word))
        pieces = [block["text"]["text"] for message in messages for block in sections(message)]
        assert all(units(piece) <= 3000 for piece in pieces)
        assert "".join(unescape(piece) for piece in pieces) == word
        assert all(not re.search(r"&[a-z]{0,3}$", piece) for piece in pieces)


def test_more_than_50_blocks_become_several_messages_in_order_with_the_buttons_in_the_last() -> None:
    blocks = tuple(Fields(((f"key {n}", f"value {n}"),), title=f"Block {n}") for n in range(120))
    messages = render(Reply("Everything:", blocks=blocks, buttons=(Button("Done", "intent:help"),)))

    assert [len(message.blocks) for message in messages] == [50, 50, 22]
    titles = [block["text"]["text"] for message in messages for block in sections(message) if "fields" in block]
    assert titles == [f"*Block {n}*" for n in range(120)]
    assert [bool(buttons(message)) for message in messages] == [False, False, True]
    assert messages[1].text == "Block 49"


def test_a_channel_mention_typed_by_a_user_is_escaped_everywhere_it_is_echoed() -> None:
    ping = "<!channel> <@U123> <https://evil.example|click> & more"
    reply = Reply(
        f"Ticket #7: {ping}",
        blocks=(Fields(((ping, ping),), title=ping), Table(("Subject",), ((ping,),), title=ping)),
        buttons=(Button(ping, "ticket:show:7"),),
    )
    [message] = render(reply)

    assert message.text == escape(f"Ticket #7: {ping}")
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp; more" in message.blocks[0]["text"]["text"]
    for text in [message.text, *texts(message)]:
        assert "<" not in text and ">" not in text
        assert "&" not in re.sub(r"&(amp|lt|gt);", "", text)
    assert all(block["text"]["verbatim"] is True for block in sections(message) if "text" in block)


def test_formatting_characters_pass_through_but_never_break_our_own_bold() -> None:
    reply = Reply("Use *bold* and _x_", blocks=(Table(("Item", "Qty"), (("A*4 paper", "3"),), title="Stock *low*"),))
    [message] = render(reply)
    assert message.blocks[0]["text"]["text"] == "Use *bold* and _x_"
    assert message.blocks[1]["text"]["text"] == "Stock *low*\nA*4 paper\nQty: 3"


def test_blank_strings_never_make_an_empty_text_object() -> None:
    [message] = render(Reply("  ", blocks=(Fields((("", " "),)),), buttons=(Button(" ", "intent:help"),)))
    assert [field["text"] for field in message.blocks[0]["fields"]] == [EMPTY, EMPTY]
    assert buttons(message)[0]["text"]["text"] == EMPTY
    assert render(Reply("")) == [SlackMessage(EMPTY, [{"type": "section", "text": {"type": "mrkdwn", "text": EMPTY, "verbatim": True}}])]


def test_the_fallback_is_the_first_line_cut_short() -> None:
    [message] = render(Reply("\n" + "word " * 100 + "\nsecond line"))
    assert message.text.endswith("…") and units(message.text) <= 150 and "second" not in message.text


# --- properties over hostile replies -------------------------------------------------------------------------

HOSTILE = st.one_of(st.sampled_from("<>&*_~`|!@#: \n"), st.characters(codec="utf-8"))
short_text = st.text(HOSTILE, max_size=30)
long_text = st.one_of(
    short_text,
    st.builds(lambda chunk, times: chunk * times, st.text(HOSTILE, min_size=1, max_size=20), st.integers(1, 600)),
    st.lists(short_text, max_size=40).map("\n".join),
)
payloads = st.one_of(
    st.builds(
        lambda family, rest: f"{family}:{rest}",
        st.sampled_from(["leave", "payslip", "hr", "ticket", "stock", "form", "slot", "intent", "Bad", "ü", ""]),
        st.text(st.characters(codec="ascii"), max_size=30),
    ),
    st.text(st.characters(codec="ascii"), max_size=60),
)
button = st.builds(Button, long_text.filter(lambda label: len(label) < 3000), payloads)
button_list = st.one_of(st.lists(button, max_size=4), st.lists(st.builds(Button, short_text, payloads), min_size=26, max_size=60))
fields = st.builds(Fields, st.lists(st.tuples(short_text, long_text), max_size=25).map(tuple), short_text)
tables = st.builds(
    lambda header, rows, title: Table(header, rows, title),
    st.lists(short_text, max_size=5).map(tuple),
    st.lists(st.lists(long_text, max_size=6).map(tuple), max_size=12).map(tuple),
    long_text,
)
small_fields = st.builds(Fields, st.lists(st.tuples(short_text, short_text), max_size=12).map(tuple), short_text)
replies = st.builds(
    lambda text, blocks, buttons: Reply(text, buttons=tuple(buttons), blocks=tuple(blocks)),
    long_text,
    st.one_of(st.lists(st.one_of(fields, tables), max_size=12), st.lists(small_fields, min_size=40, max_size=70)),
    button_list,
)
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTIES
@given(replies)
def test_every_message_is_within_slack_limits(reply: Reply) -> None:
    messages = render(reply)
    assert messages
    for message in messages:
        assert 1 <= len(message.blocks) <= MAX_BLOCKS
        assert 1 <= units(message.text) <= 150 and message.text.strip()
        assert sum(units(text) for text in texts(message)) + sum(units(b["value"]) for b in buttons(message)) <= MAX_MESSAGE_TEXT
        for block in sections(message):
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 1 <= units(block["text"]["text"]) <= 3000 and block["text"]["text"].strip()
            assert len(block.get("fields", ())) <= 10
            assert all(1 <= units(field["text"]) <= 2000 and field["text"].strip() for field in block.get("fields", ()))
        for block in message.blocks:
            if block["type"] == "actions":
                assert 1 <= len(block["elements"]) <= 25
        ids = [button["action_id"] for button in buttons(message)]
        assert len(ids) == len(set(ids))
        assert all(ACTION_ID.search(id_) and len(id_) <= 255 for id_ in ids)
        assert all(1 <= units(button["text"]["text"]) <= 75 and len(button["value"]) <= 2000 for button in buttons(message))


@PROPERTIES
@given(replies)
def test_nothing_typed_survives_unescaped_and_nothing_is_lost(reply: Reply) -> None:
    messages = render(reply)
    for message in messages:
        for text in [message.text, *texts(message)]:
            assert "<" not in text and ">" not in text
            assert "&" not in re.sub(r"&(amp|lt|gt);", "", text)

    everything = squash(shown(messages))
    assert squash(reply.text) in everything
    for block in reply.blocks:
        assert squash(block.title) in everything
        cells = [cell for row in block.rows for cell in row]
        assert all(squash(cell) in everything for cell in cells)

    rendered = [button for message in messages for button in buttons(message)]
    assert [button["value"] for button in rendered] == [button.payload for button in reply.buttons]
    for button, original in zip(rendered, reply.buttons, strict=True):
        label, whole = unescape(button["text"]["text"]), " ".join(original.label.split())
        assert label == (whole or EMPTY) or (label.endswith("…") and whole.startswith(label[:-1]))
    if reply.buttons:  # all in the last message (60 buttons always fit in one)
        assert [bool(buttons(message)) for message in messages].count(True) == 1 and buttons(messages[-1])
