"""People who type their language in another script (issue 12): Uzbek in Cyrillic, Russian in Latin letters, Greek
in Greeklish. The reply comes in their language, Uzbek in the script they write; a leave request with dates goes
to the confirmation of exactly those dates. Today is Monday 2026-11-23.
"""

from __future__ import annotations

from datetime import date

from actions.i18n import Translator
from actions.leave import span
from tests.conversations.conftest import Chat
from tests.factories import Company

RU, EL, UZ_CYRL = Translator("ru"), Translator("el"), Translator("uz-Cyrl")
CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяўқғҳ")


def cyrillic_share(text: str) -> float:
    letters = [char for char in text.lower() if char.isalpha()]
    return sum(char in CYRILLIC for char in letters) / max(len(letters), 1)


async def test_uzbek_in_cyrillic_is_answered_in_cyrillic_and_keeps_the_script(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, "14 дан 18 декабргача таътил олмоқчиман")
    assert UZ_CYRL("leave.confirm_question") in said.text  # "Расмийлаштирайми?"
    assert span(UZ_CYRL, date(2026, 12, 14), date(2026, 12, 18)) in said.text
    assert cyrillic_share(said.text) > 0.8

    said = await chat.say(company.alice, "ок")  # short: the conversation keeps its language and script
    assert cyrillic_share(said.text) > 0.8


async def test_uzbek_in_latin_letters_is_still_answered_in_latin(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, "14 dan 18 dekabrgacha ta'til olmoqchiman")
    assert Translator("uz")("leave.confirm_question") in said.text
    assert cyrillic_share(said.text) < 0.2


async def test_russian_typed_in_latin_letters_gets_a_russian_confirmation_of_both_dates(chat: Chat, company: Company) -> None:
    said = await chat.say(company.bob, "voz'mu otpusk s 14 po 18 dekabrya")
    assert f"Ежегодный отпуск, {span(RU, date(2026, 12, 14), date(2026, 12, 18))}: 5 рабочих дней." in said.text
    assert RU("leave.confirm_question") in said.text


async def test_greeklish_gets_a_greek_confirmation_of_the_dates(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, "thelw kanoniki adeia apo 14 ews 18 dekemvriou")
    assert span(EL, date(2026, 12, 14), date(2026, 12, 18)) in said.text
    assert EL("leave.confirm_question") in said.text
