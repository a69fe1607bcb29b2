"""The command menu chat platforms show (Telegram's `setMyCommands`), in every language the assistant speaks.

The commands are what the core understands typed as they are (`/balance` is a leave-balance question to the NLU,
`/start CODE` and `/link CODE` link an account, bot/linking.py); the menu only names them, with one line each from
the message catalogue (actions/messages/commands.yml). Channels get the texts from here, not from the catalogue.
"""

from __future__ import annotations

from actions.i18n import LANGUAGES, Translator

COMMANDS = ("help", "balance", "payslip", "tickets", "approvals", "cancel", "lang", "link")


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
