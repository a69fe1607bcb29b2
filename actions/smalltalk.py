"""Small talk and help: greetings, goodbyes, thanks, and what THIS person can ask for given their roles."""

from __future__ import annotations

from actions.context import ActionContext
from actions.registry import Routes
from actions.replies import Reply
from storage.people import Employee, Role

routes = Routes()

EVERYONE_SECTIONS = (
    "smalltalk.help_leave",
    "smalltalk.help_payslips",
    "smalltalk.help_tickets",
    "smalltalk.help_stock",
    "smalltalk.help_hr",
    "smalltalk.help_reminders",
)
ROLE_SECTIONS = (
    (Role.MANAGER, "smalltalk.help_approvals"),
    (Role.IT_AGENT, "smalltalk.help_it_agent"),
    (Role.STOCK_KEEPER, "smalltalk.help_stock_keeper"),
    (Role.HR, "smalltalk.help_hr_role"),
)


FAMILY_NAME_FIRST = frozenset({"vi"})
"""Languages whose names are written family name first ("Phạm Thu Hà" is called Hà)."""


def first_name(employee: Employee) -> str:
    """What colleagues call the person: the given name."""
    parts = employee.name.split()
    if not parts:
        return employee.name
    return parts[-1] if employee.language in FAMILY_NAME_FIRST else parts[0]


ADMIN_COVERS = frozenset({Role.IT_AGENT, Role.STOCK_KEEPER})
"""The roles whose work an admin may also do. Not deciding leave or reading payslips: that needs the person's
manager or HR (storage.leave.can_decide, storage.payroll)."""


def help_sections(employee: Employee) -> list[str]:
    """Message ids of the help sections for this person: everyone's, then one per role they hold (an admin's
    include the IT and stock keeping work an admin may also do)."""
    sections = list(EVERYONE_SECTIONS)
    for role, key in ROLE_SECTIONS:
        if employee.has_role(role) or (role in ADMIN_COVERS and employee.has_role(Role.ADMIN)):
            sections.append(key)
    return sections


@routes.intent("greet")
async def greet(ctx: ActionContext) -> None:
    ctx.replies.append(Reply(f"{ctx.t('smalltalk.greet', name=first_name(ctx.employee))} {ctx.t('smalltalk.greet_hint')}"))


@routes.intent("goodbye")
async def goodbye(ctx: ActionContext) -> None:
    ctx.say("smalltalk.goodbye", name=first_name(ctx.employee))


@routes.intent("thanks")
async def thanks(ctx: ActionContext) -> None:
    ctx.say("smalltalk.thanks", name=first_name(ctx.employee))


@routes.intent("help")
async def show_help(ctx: ActionContext) -> None:
    lines = [ctx.t("smalltalk.help_intro", name=first_name(ctx.employee)), ""]
    lines += [ctx.t(key) for key in help_sections(ctx.employee)]
    lines += ["", ctx.t("smalltalk.help_outro")]
    ctx.replies.append(Reply("\n".join(lines)))
