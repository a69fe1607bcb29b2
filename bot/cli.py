"""The `backoffice` command line."""

from __future__ import annotations

import asyncio
import enum
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings, SettingsError, load_settings
from nlu.cli import app as nlu_app
from storage import migrate
from storage.database import Database
from storage.errors import DomainError
from storage.leave import ensure_leave_types
from storage.people import Employee

T = TypeVar("T")

app = typer.Typer(help="Back Office Assistant: leave, payslips, IT tickets, stock and HR in chat.", no_args_is_help=True)
db_app = typer.Typer(help="Create, upgrade and fill the database.", no_args_is_help=True)
import_app = typer.Typer(help="Load employees, payslips or stock from CSV files (all or nothing).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(nlu_app, name="nlu")


def settings_from(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@app.callback()
def _load(ctx: typer.Context) -> None:
    try:
        ctx.obj = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: invalid setting: {exc}", err=True)
        raise typer.Exit(2) from None
    from bot.logs import configure_logging

    # Every command logs through the one redacting handler; only warnings, so they don't clutter a chat in the
    # terminal (`backoffice run` sets LOG_LEVEL's level itself).
    configure_logging("WARNING", ctx.obj.log_format, secrets=ctx.obj.secret_values)


def run_with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run async work against the configured database; domain errors become one line and exit code 1."""

    async def runner() -> T:
        database = Database(settings.resolved_database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(runner())
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: can't reach the database: {exc}", err=True)
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        # The driver's message quotes the statement and its parameters (names, codes): name only the kind.
        typer.echo(
            f"error: the database refused the command ({type(exc).__name__}); if it is new or older than this code, "
            "run `backoffice db upgrade`",
            err=True,
        )
        raise typer.Exit(1) from None


def today_in(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


async def upgrade_database(database: Database, revision: str = "head") -> None:
    await migrate.upgrade(database, revision)
    async with database.transaction() as session:
        await ensure_leave_types(session)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create the schema or bring it up to date."""
    settings = settings_from(ctx)
    run_with_database(settings, lambda database: upgrade_database(database, revision))
    typer.echo(f"database is at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for empty.")]) -> None:
    """Step the schema back to an earlier revision."""
    run_with_database(settings_from(ctx), lambda database: migrate.downgrade(database, revision))
    typer.echo(f"database is at revision {revision}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the schema revision of the database and of this code."""
    current = run_with_database(settings_from(ctx), migrate.current_revision)
    typer.echo(f"database: {current or 'empty'}; code: {migrate.head_revision()}")


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-23") from None


async def seed_demo_company(database: Database, today: date) -> object:
    from storage.demo import seed_demo

    await upgrade_database(database)
    async with database.transaction() as session:
        return await seed_demo(session, today=today)


@db_app.command("seed")
def db_seed(
    ctx: typer.Context,
    demo: Annotated[bool, typer.Option("--demo", help="Fill the database with the demo company.")] = False,
    today: Annotated[str | None, typer.Option(help="Pretend today is this date (YYYY-MM-DD).")] = None,
) -> None:
    """Fill the database (upgrading it first). Safe to run again."""
    if not demo:
        typer.echo("error: say what to seed: --demo", err=True)
        raise typer.Exit(2)
    settings = settings_from(ctx)
    day = parse_day(today) or today_in(settings)
    summary = run_with_database(settings, lambda database: seed_demo_company(database, day))
    typer.echo(str(summary))


class ImportKind(enum.StrEnum):
    employees = "employees"
    payslips = "payslips"
    stock = "stock"


@import_app.callback(invoke_without_command=True)
def import_file(
    ctx: typer.Context,
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A UTF-8 CSV file with a header row.")],
) -> None:
    """Import a CSV file in one transaction: a bad row rejects the whole file, naming the row and the reason."""
    from storage import importers

    importer = {
        ImportKind.employees: importers.import_employees,
        ImportKind.payslips: importers.import_payslips,
        ImportKind.stock: importers.import_stock,
    }[kind]

    async def work(database: Database) -> object:
        await upgrade_database(database)
        async with database.transaction() as session:
            return await importer(session, file)

    report = run_with_database(settings_from(ctx), work)
    typer.echo(str(report))


class ChatPlatform(enum.StrEnum):
    telegram = "telegram"
    slack = "slack"


async def employee_by_email(session: AsyncSession, email: str) -> Employee:
    from storage.errors import NotFound
    from storage.people import find_by_email

    employee = await find_by_email(session, email)
    if employee is None:
        raise NotFound(f"no employee with the email {email}")
    return employee


@app.command("link-code")
def link_code(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The employee's email.")],
    platform: Annotated[ChatPlatform | None, typer.Option(help="Only for this platform [default: any].")] = None,
) -> None:
    """Print a one-time code that links a chat account to the employee (it works once, for 15 minutes)."""
    from storage import linking

    settings = settings_from(ctx)

    async def work(database: Database) -> tuple[Employee, linking.IssuedCode]:
        await upgrade_database(database)
        async with database.transaction() as session:
            employee = await employee_by_email(session, email)
            return employee, await linking.issue(session, employee, platform=platform.value if platform else None)

    employee, issued = run_with_database(settings, work)
    zone = ZoneInfo(settings.timezone)
    until = issued.expires_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    typer.echo(f"Link code for {employee.name} <{employee.email}>: {issued.code}")
    typer.echo(f"It works once, until {until:%Y-%m-%d %H:%M} ({settings.timezone}). In a direct chat with the assistant send:")
    if platform in (None, ChatPlatform.telegram):
        typer.echo(f"  Telegram: /link {issued.code}")
    if platform in (None, ChatPlatform.slack):
        typer.echo(f"  Slack:    link {issued.code}")


@app.command()
def unlink(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The employee's email.")],
    platform: Annotated[ChatPlatform, typer.Argument(help="The chat platform whose account to remove.")],
) -> None:
    """Remove the employee's chat account on a platform (audited); a new link code links one again."""
    from storage import linking

    async def work(database: Database) -> tuple[Employee, list[str]]:
        await upgrade_database(database)
        async with database.transaction() as session:
            employee = await employee_by_email(session, email)
            return employee, await linking.unlink(session, employee, platform.value, via="command line")

    employee, removed = run_with_database(settings_from(ctx), work)
    typer.echo(f"Unlinked {platform.value} account {', '.join(removed)} from {employee.name} <{employee.email}>")


def printable_url(url: str) -> str:
    """A database URL fit to print: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(a database URL that can't be read)"


def parse_moment(value: str | None, settings: Settings) -> datetime | None:
    """A local date-time (company time zone) given on the command line, as naive UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date-time like 2026-11-23T09:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.timezone))
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def run_chat(settings: Settings, email: str, script: Path | None, now: datetime | None) -> None:
    from actions import default_jobs
    from bot.assistant import open_assistant
    from bot.channels.console import HELP, PLATFORM, ConsoleChat
    from bot.delivery import DeliveryWorker
    from bot.directory import Directory
    from bot.router import Router
    from bot.scheduler import Scheduler
    from storage.base import utcnow
    from storage.schedules import PERSONAL

    clock = (lambda: now) if now is not None else utcnow
    interactive = script is None and sys.stdin.isatty()

    async def chat() -> None:
        assistant = await open_assistant(settings, clock=clock)
        try:
            router = Router(assistant.database, assistant.dialogue, clock=clock)
            console = ConsoleChat(router, Directory(assistant.database), clock=clock)
            delivery = DeliveryWorker(assistant.database, {PLATFORM: console}, clock=clock)
            # The person's own reminders fire here too (after each line); digests and alerts are `backoffice run`'s.
            reminders = Scheduler(assistant.database, default_jobs().only(PERSONAL), clock=clock, lease_name="console")

            async def deliver() -> object:
                await reminders.run_once()
                return await delivery.run_once()

            console.deliver_outbox = deliver
            if interactive:
                console.write(HELP)
            if not await console.switch(email):
                raise typer.Exit(1)
            if script is not None:
                await console.run(script.read_text(encoding="utf-8").splitlines(), echo=True)
            elif not interactive:
                await console.run(sys.stdin, echo=True)
            else:
                while True:
                    try:
                        line = await asyncio.to_thread(input, console.prompt)
                    except EOFError:
                        break
                    if not await console.handle_line(line):
                        break
        finally:
            await assistant.close()

    try:
        asyncio.run(chat())
    except KeyboardInterrupt:
        typer.echo("")
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def chat(
    ctx: typer.Context,
    as_: Annotated[str, typer.Option("--as", help="Chat as this employee (email).")],
    script: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Read the messages from this file.")] = None,
    now: Annotated[str | None, typer.Option(help="Fixed local date-time for reproducible runs, e.g. 2026-11-23T09:00.")] = None,
) -> None:
    """Chat with the assistant in the terminal (lines from stdin or --script when not interactive)."""
    settings = settings_from(ctx)
    run_chat(settings, as_, script, parse_moment(now, settings))


@app.command()
def demo(
    ctx: typer.Context,
    as_: Annotated[str | None, typer.Option("--as", help="Start as this employee (default: an employee of the demo).")] = None,
    now: Annotated[str | None, typer.Option(help="Fixed local date-time, e.g. 2026-11-23T09:00.")] = None,
) -> None:
    """Prepare the embedded database with the demo company, then chat with the assistant in the terminal."""
    settings = settings_from(ctx)
    moment = parse_moment(now, settings)
    day = moment.date() if moment is not None else today_in(settings)
    summary = run_with_database(settings, lambda database: seed_demo_company(database, day))
    typer.echo(f"Demo company ready in {printable_url(settings.resolved_database_url)}")
    typer.echo(str(summary))
    run_chat(settings, as_ or demo_login(summary), None, moment)


def demo_login(summary: object) -> str:
    """The first plain employee of the demo summary's logins (role → emails)."""
    logins: dict[str, list[str]] = getattr(summary, "logins", None) or {}
    emails = logins.get("employee") or next(iter(logins.values()), [])
    if not emails:
        raise typer.BadParameter("the demo company has no one to log in as; pass --as EMAIL")
    return emails[0]


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the assistant as a service: outbox delivery, the scheduler and the HTTP server (GET /healthz, /readyz,
    /metrics on HTTP_HOST:HTTP_PORT) until SIGTERM or Ctrl+C, which finish the work in progress and exit 0."""
    from bot.service import run_service

    raise typer.Exit(run_service(settings_from(ctx)))


outbox_app = typer.Typer(help="Messages still to be delivered, and failed ones (never their text).")
app.add_typer(outbox_app, name="outbox")
OUTBOX_REASON_WIDTH = 80


@outbox_app.callback(invoke_without_command=True)
def outbox_list(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only the failed (dead-lettered) messages.")] = False,
) -> None:
    """List the messages waiting and failed: "scheduled" (for a later time: deferred past someone's night, say),
    "pending" (due, not delivered yet; "retrying" after a failed attempt) and "failed" — id, status, recipient,
    platform, attempts, due time (UTC) and the reason of the last failure, never the text. `backoffice outbox retry
    ID` sends a failed one again."""
    if ctx.invoked_subcommand is not None:
        return
    from storage import outbox
    from storage.base import utcnow
    from storage.outbox import OutboxStatus

    statuses = (OutboxStatus.DEAD,) if failed else (OutboxStatus.PENDING, OutboxStatus.DEAD)
    now = utcnow()

    async def work(database: Database) -> tuple[dict[OutboxStatus, int], int, list[outbox.Listed]]:
        await upgrade_database(database)
        async with database.reading() as session:
            return await outbox.depth(session), await outbox.scheduled(session, now=now), await outbox.listing(session, statuses, now=now)

    depth, later, rows = run_with_database(settings_from(ctx), work)
    typer.echo(f"scheduled: {later}, pending: {depth[OutboxStatus.PENDING] - later}, failed: {depth[OutboxStatus.DEAD]}")
    if not rows:
        return

    def status(row: outbox.Listed) -> str:
        if row.status is OutboxStatus.DEAD:
            return "failed"
        if row.scheduled:
            return "scheduled"
        return "retrying" if row.attempts or row.reason else row.status.value

    header = ("id", "status", "kind", "recipient", "platform", "attempts", "due (UTC)", "reason")
    table = [header] + [
        (
            str(row.id),
            status(row),
            row.kind.value,
            row.recipient,
            row.platform or "-",
            str(row.attempts),
            f"{row.due_at:%Y-%m-%d %H:%M:%S}",
            row.reason[:OUTBOX_REASON_WIDTH],
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context, message_id: Annotated[int, typer.Argument(help="The id `backoffice outbox` shows.")]
) -> None:
    """Send a failed message again, with a fresh set of attempts (audited)."""
    from storage import outbox

    async def work(database: Database) -> None:
        await upgrade_database(database)
        async with database.transaction() as session:
            await outbox.requeue(session, message_id)

    run_with_database(settings_from(ctx), work)
    typer.echo(f"outbox message {message_id} is queued again")


schedule_app = typer.Typer(help="Scheduled jobs (reminders, digests, alerts) and which replica fires them.")
app.add_typer(schedule_app, name="schedule")


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = [header, *rows]
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@schedule_app.callback(invoke_without_command=True)
def schedule_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Also the finished and cancelled ones.")] = False,
) -> None:
    """Who leads (fires the schedules), then every scheduled job: id, kind, whose, rule, time zone, next run (UTC
    and the job's local time) and last run. Never a reminder's text."""
    if ctx.invoked_subcommand is not None:
        return
    from storage import schedules
    from storage.base import utcnow

    async def work(database: Database) -> tuple[schedules.SchedulerLease | None, list[schedules.Listed]]:
        await upgrade_database(database)
        async with database.reading() as session:
            return await schedules.lease_of(session), await schedules.listing(session, include_inactive=all_)

    lease, rows = run_with_database(settings_from(ctx), work)
    now = utcnow()
    if lease is None:
        typer.echo("leader: none yet (no `backoffice run` has led)")
    elif lease.expires_at > now:
        typer.echo(f"leader: {lease.holder} (since {lease.acquired_at:%Y-%m-%d %H:%M:%S} UTC, lease until {lease.expires_at:%H:%M:%S} UTC)")
    else:
        typer.echo(f"leader: none (the last, {lease.holder}, stopped or lost its lease at {lease.expires_at:%Y-%m-%d %H:%M:%S} UTC)")
    typer.echo(f"jobs: {len(rows)}")
    if not rows:
        return

    def local(moment: datetime | None, zone: str) -> str:
        return f"{schedules.to_local(moment, schedules.zone_named(zone)):%Y-%m-%d %H:%M}" if moment is not None else "-"

    print_table(
        ("id", "kind", "for", "rule", "timezone", "next (UTC)", "next (local)", "last (UTC)", "state"),
        [
            (
                str(row.id), row.kind, row.owner or "-", row.rule, row.timezone,
                f"{row.next_due:%Y-%m-%d %H:%M}" if row.next_due else "-", local(row.next_due, row.timezone),
                f"{row.last_fired:%Y-%m-%d %H:%M}" if row.last_fired else "-",
                ("failing: " + row.last_error[:60]) if row.last_error else ("active" if row.active else "done"),
            )
            for row in rows
        ],
    )


def main() -> None:
    from storage.sqlite_engine import UnsupportedSQLAlchemy

    try:
        app()
    except UnsupportedSQLAlchemy as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
