"""Linking another chat account: "link my Telegram" gives a one-time code to send there (see storage/linking.py).

The code is a credential for a quarter of an hour, so it is only ever shown in a private chat (asked in a group,
the group gets a pointer instead).
"""

from __future__ import annotations

from actions.context import ActionContext
from actions.i18n import keyword_table, words_of
from actions.registry import Routes
from actions.replies import Reply
from storage import linking, people
from storage.people import Platform

routes = Routes()

NAMES = {Platform.TELEGRAM: "Telegram", Platform.SLACK: "Slack"}


def named_platform(text: str) -> Platform | None:
    """The chat platform the message names, if exactly one."""
    words = words_of(text)
    named = [platform for platform in NAMES if keyword_table(f"linking.keywords.{platform.value}").count(words)]
    return named[0] if len(named) == 1 else None


@routes.intent("link_account")
async def link_account(ctx: ActionContext) -> None:
    platform = named_platform(ctx.message.text)
    issued = await linking.issue(ctx.session, ctx.employee, platform=platform, actor_id=ctx.employee.id, now=ctx.now)
    minutes = int(linking.LIFETIME.total_seconds() // 60)
    key = f"linking.code_{platform.value}" if platform is not None else "linking.code_any"
    text = ctx.t(key, code=issued.code, minutes=minutes)
    if platform is not None and await people.identities_on(ctx.session, ctx.employee.id, platform):
        text = f"{text}\n{ctx.t('linking.replaces', platform=NAMES[platform])}"
    ctx.replies.append(Reply(text, private=True))
