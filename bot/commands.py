"""Commands (`/balance`, `/lang`…): what each one asks, and the menu chat platforms show (Telegram's
`setMyCommands`), in every language the assistant speaks.

A command is told to the dialogue as its intent (`command_in`), not guessed by the NLU: the NLU was never taught
"/lang", and it reads "/balance" as English whatever language the person speaks — a command's answer is in the
conversation's language. Words after a command still count ("/payslip september": the month). `/start CODE` and
`/link CODE` never get here: the router links the account first (bot/linking.py); `/start` alone (Telegram's Start
button) is help, and `/link` alone asks for a code to link another account, as "link my Slack" does. The menu
names the commands with one line each from the message catalogue (actions/messages/commands.yml); channels get the
texts from here, not from the catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.i18n import LANGUAGES, Translator

COMMANDS = ("help", "balance", "payslip", "tickets", "approvals", "cancel", "lang", "link")
"""The menu, in its order."""
INTENTS = {
    "help": "help",
    "start": "help",
    "balance": "leave_balance",
    "payslip": "payslip_show",
    "tickets": "ticket_status",
    "approvals": "approvals_pending",
    "cancel": "cancel",
    "lang": "language",
    "link": "link_account",
}
"""Each command's intent (actions' routes: `language` is actions/language.py)."""

_COMMAND = re.compile(r"\s*/(?P<name>[A-Za-z_]{1,32})(?:@\w+)?(?=\s|$)(?P<rest>.*)", re.DOTALL)
"""`/name`, `/name@our_bot` (a channel may leave the addressee on), then anything."""


@dataclass(frozen=True)
class Command:
    intent: str
    rest: str
    """What follows the command (without it), e.g. a month; empty for most."""


def command_in(text: str) -> Command | None:
    """The command `text` starts with, if it is one of ours; None for any other text (or an unknown command, which
    is left to the NLU like any message)."""
    found = _COMMAND.match(text)
    if found is None:
        return None
    intent = INTENTS.get(found.group("name").lower())
    return Command(intent, found.group("rest").strip()) if intent is not None else None


def command_menu(language: str) -> list[tuple[str, str]]:
    """(command, description) pairs in one language, in menu order."""
    t = Translator(language)
    return [(command, t(f"commands.{command}")) for command in COMMANDS]


def command_menus(default_language: str = "en") -> dict[str | None, list[tuple[str, str]]]:
    """The menu for each language (by its code, as Telegram's `language_code`), and under None the one for
    everyone whose language is none of them: in the assistant's default language."""
    menus: dict[str | None, list[tuple[str, str]]] = {language: command_menu(language) for language in LANGUAGES}
    menus[None] = command_menu(default_language)
    return menus
