"""Choosing the language the assistant writes in (`/lang`): six buttons, one per language, each named in itself.

The choice becomes the person's language (`Employee.language`: what notifications, reminders and approvals sent to
them are written in) and the conversation's (what a message that doesn't tell its language — "ok", "/balance" — is
answered in). A message written in another language is still answered in that one: the NLU reads each message's
language, with the choice only as its hint (nlu/language.py).
"""

from __future__ import annotations

from actions.context import ActionContext
from actions.i18n import LANGUAGES, Translator
from actions.payloads import LanguageChoice, encode
from actions.registry import Routes
from actions.replies import Button
from storage import audit

routes = Routes()

NAMES = {"en": "English", "ru": "Русский", "uz": "O‘zbekcha", "az": "Azərbaycanca", "el": "Ελληνικά", "vi": "Tiếng Việt"}
"""Each language in itself: the button a person looks for is in the language they read."""


@routes.intent("language")
async def choose_language(ctx: ActionContext) -> None:
    ctx.say("language.choose", buttons=[Button(NAMES[code], encode(LanguageChoice(code))) for code in LANGUAGES])


@routes.button(LanguageChoice)
async def language_chosen(ctx: ActionContext, press: LanguageChoice) -> None:
    """Keep the choice and say so in it, in place of the buttons."""
    if ctx.employee.language != press.language:
        await audit.record(ctx.session, actor_id=ctx.employee.id, action="employee.language", entity="employee",
                           entity_id=ctx.employee.id, details={"from": ctx.employee.language, "to": press.language}, at=ctx.now)
        ctx.employee.language = press.language
    ctx.t = Translator(press.language)  # this turn's replies and the conversation's language from now on
    ctx.say("language.chosen", replaces_source=True)
