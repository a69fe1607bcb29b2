"""The button payload codec: every payload round-trips, none is over 64 bytes, and no text — however hostile —
makes decoding raise; what decodes is exactly what the assistant could have sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions import default_routes
from actions.i18n import LANGUAGES
from actions.payloads import (
    FAMILIES,
    MAX_ID,
    MAX_OFFERS,
    CaseAction,
    CaseVerb,
    FormAnswer,
    HomeDecision,
    IntentShortcut,
    LanguageChoice,
    LeaveCancel,
    LeaveDecision,
    Payload,
    PayslipChoice,
    ReminderCancel,
    ShowHome,
    SlotChoice,
    StockItemChoice,
    TicketAction,
    TicketVerb,
    decode,
    decode_as,
    encode,
    new_instance,
    record_id,
)
from actions.registry import Routes
from actions.replies import MAX_PAYLOAD, Button

ids = st.integers(min_value=1, max_value=MAX_ID)
instances = st.builds(new_instance) | st.text("0123456789abcdef", min_size=8, max_size=8)
periods = st.builds(lambda year, month: f"{year}-{month:02d}", st.integers(1000, 2999), st.integers(1, 12))
intents = st.from_regex(r"[a-z][a-z_]{0,39}", fullmatch=True)

payloads: st.SearchStrategy[Payload] = st.one_of(
    st.builds(LeaveDecision, ids, st.booleans()),
    st.builds(LeaveCancel, ids),
    st.builds(PayslipChoice, st.none() | periods, st.none() | ids),
    st.builds(CaseAction, st.sampled_from(CaseVerb), ids),
    st.builds(TicketAction, st.sampled_from(TicketVerb), ids),
    st.builds(StockItemChoice, ids),
    st.builds(ReminderCancel, ids),
    st.builds(FormAnswer, instances, st.booleans()),
    st.builds(SlotChoice, instances, st.integers(0, MAX_OFFERS - 1)),
    st.builds(IntentShortcut, intents),
    st.just(ShowHome()),
    st.builds(HomeDecision, ids, st.booleans()),
    st.builds(LanguageChoice, st.sampled_from(LANGUAGES)),
)

# Texts near the real thing: a known prefix and fields of digits (ASCII or not), words, or anything at all.
FIELDS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=12),  # '²', '٤٢', '௫'
    st.sampled_from(["approve", "reject", "cancel", "show", "latest", "yes", "no", "take", "close", "reply", "2026-10", "", " 1"]),
    st.text(max_size=12),
)
NEAR_MISSES = st.builds(
    lambda prefix, fields: ":".join([prefix, *fields]),
    st.sampled_from(["leave", "payslip", "hr", "ticket", "stock", "form", "slot", "intent", "home", "lang", "LEAVE", "x"]),
    st.lists(FIELDS, max_size=4),
)


@given(payloads)
def test_every_payload_round_trips_within_64_bytes(payload: Payload) -> None:
    text = encode(payload)
    assert len(text.encode()) <= MAX_PAYLOAD and text.isascii()
    assert decode(text) == payload
    assert Button("label", text).payload == text


@given(st.text() | NEAR_MISSES | st.binary().map(lambda raw: raw.decode("latin-1")))
def test_no_text_makes_decoding_raise_and_what_decodes_is_canonical(text: str) -> None:
    found = decode(text)
    if found is not None:
        assert encode(found) == text  # one payload, one spelling: nothing else is accepted


@given(payloads, st.sampled_from(["²", "٤", "௫", "Ⅷ", "①", "０"]))
def test_a_non_ascii_digit_anywhere_is_refused(payload: Payload, digit: str) -> None:
    text = encode(payload)
    for position in range(len(text)):
        assert decode(text[:position] + digit + text[position + 1 :]) is None


@pytest.mark.parametrize("number", [0, -1, MAX_ID + 1, 2**63, 10**30])
def test_ids_outside_the_database_range_are_refused(number: int) -> None:
    for text in (f"leave:approve:{number}", f"ticket:take:{number}", f"payslip:show:latest:{number}", f"stock:show:{number}"):
        assert decode(text) is None
    with pytest.raises(ValueError):
        LeaveDecision(number, approve=True)


def test_the_longest_payloads_fit() -> None:
    longest: list[Payload] = [
        PayslipChoice("2999-12", MAX_ID),
        TicketAction(TicketVerb.REOPEN, MAX_ID),
        LeaveDecision(MAX_ID, approve=False),
        IntentShortcut("x" * 40),
        SlotChoice("ffffffff", MAX_OFFERS - 1),
    ]
    assert max(len(encode(payload).encode()) for payload in longest) <= MAX_PAYLOAD


def test_examples_of_what_is_refused() -> None:
    for text in ("leave:approve:²", "ticket:take:№5", "leave:approve:042", "payslip:show:0000-01", "payslip:show:2026-10\n",
                 "form:yes", "slot:leave_request:leave_type:annual", "intent:", "intent:Help", "leave:approve:1:2", "\ud800",
                 "home", "home:", "home:show:1", "home:approve", "home:cancel:1", "home:approve:0", "lang:", "lang:fr", "lang:RU",
                 "lang:ru:1"):
        assert decode(text) is None, text
    assert decode_as(LeaveCancel, "leave:approve:1") is None
    assert decode_as(LeaveDecision, "leave:approve:1") == LeaveDecision(1, approve=True)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("42", 42), ("#42", 42), ("№ 42", 42), ("042", 42), (" 7 ", 7), ("0", None), ("²", None), ("٤٢", None), ("-3", None),
     (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("9" * 30, None), ("4.2", None), ("", None), (None, None)],
)
def test_record_ids_as_people_type_them(typed: object, expected: int | None) -> None:
    assert record_id(typed) == expected


def test_handlers_are_registered_by_payload_family_and_only_those() -> None:
    routes = default_routes()
    assert set(routes.buttons) == {
        LeaveDecision, LeaveCancel, PayslipChoice, CaseAction, TicketAction, StockItemChoice, ShowHome, HomeDecision,
        LanguageChoice, ReminderCancel,
    }
    assert set(routes.buttons) | {FormAnswer, SlotChoice, IntentShortcut} == set(FAMILIES)  # the rest: the dialogue
    with pytest.raises(TypeError):
        Routes().button("leave")  # type: ignore[arg-type]
