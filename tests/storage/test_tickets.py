"""IT ticket rules on SQLite and PostgreSQL: SLA, status transitions and who may make them, comments, assignment."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage import audit, tickets
from storage.database import Database
from storage.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from storage.people import Employee
from storage.tickets import Category, Priority, Ticket, TicketStatus
from tests.factories import Company

NOW = datetime(2026, 11, 23, 9, 0)


async def open_ticket(database: Database, who: Employee, description: str = "My laptop won't boot", **options: object) -> Ticket:
    async with database.transaction() as session:
        requester = await session.get(Employee, who.id)
        assert requester is not None
        return await tickets.create_ticket(session, requester, description=description, now=NOW, **options)  # type: ignore[arg-type]


async def move(database: Database, who: Employee, ticket: Ticket, status: str, **options: object) -> Ticket:
    async with database.transaction() as session:
        actor = await session.get(Employee, who.id)
        assert actor is not None
        return await tickets.change_status(session, actor, ticket.id, status, **options)  # type: ignore[arg-type]


async def comment(database: Database, who: Employee, ticket: Ticket, text: str) -> None:
    async with database.transaction() as session:
        author = await session.get(Employee, who.id)
        assert author is not None
        await tickets.add_comment(session, author, ticket.id, text, now=NOW + timedelta(hours=1))


async def fetch(database: Database, ticket: Ticket) -> Ticket:
    async with database.sessions() as session:
        found = await session.get(Ticket, ticket.id)
        assert found is not None
        return found


async def test_a_new_ticket_is_open_with_its_category_and_history(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice, "Printer on floor 3 jams\nIt eats every page", category="hardware")
    assert ticket.status is TicketStatus.OPEN and ticket.category is Category.HARDWARE
    assert ticket.priority is Priority.NORMAL and ticket.requester_id == company.alice.id
    assert ticket.title == "Printer on floor 3 jams" and ticket.number == ticket.id
    assert ticket.assignee_id is None and ticket.resolved_at is None
    assert [(change.from_status, change.to_status) for change in ticket.history] == [(None, TicketStatus.OPEN)]
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "ticket", ticket.id)
    assert [(entry.action, entry.details) for entry in entries] == [("ticket.created", {"category": "hardware", "priority": "normal"})]


@pytest.mark.parametrize(
    ("priority", "hours"), [(Priority.CRITICAL, 4), (Priority.HIGH, 8), (Priority.NORMAL, 24), (Priority.LOW, 72)]
)
async def test_the_sla_due_time_follows_the_priority(database: Database, company: Company, priority: Priority, hours: int) -> None:
    ticket = await open_ticket(database, company.alice, priority=priority.value)
    assert ticket.created_at == NOW
    assert ticket.sla_due_at == NOW + timedelta(hours=hours)


async def test_an_empty_description_is_refused(database: Database, company: Company) -> None:
    with pytest.raises(InvalidRequest) as error:
        await open_ticket(database, company.alice, "   ")
    assert error.value.code == "empty_ticket"


@pytest.mark.parametrize(("field", "value", "code"), [("category", "plumbing", "bad_category"), ("priority", "urgent!!", "bad_priority")])
async def test_an_unknown_category_or_priority_is_an_invalid_request(
    database: Database, company: Company, field: str, value: str, code: str
) -> None:
    with pytest.raises(InvalidRequest) as error:
        await open_ticket(database, company.alice, **{field: value})
    assert error.value.code == code


async def test_the_agent_works_a_ticket_through_to_closed(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    later = NOW + timedelta(hours=2)
    working = await move(database, company.it_agent, ticket, "in_progress", now=later)
    assert working.status is TicketStatus.IN_PROGRESS and working.updated_at == later
    assert working.assignee_id == company.it_agent.id  # the first agent to pick it up takes it
    resolved = await move(database, company.it_agent, ticket, "resolved", comment="Replaced the disk", now=later + timedelta(hours=1))
    assert resolved.resolved_at == later + timedelta(hours=1)
    assert [c.text for c in resolved.comments] == ["Replaced the disk"]
    closed = await move(database, company.it_agent, ticket, "closed")
    assert [(c.from_status, c.to_status) for c in closed.history] == [
        (None, TicketStatus.OPEN),
        (TicketStatus.OPEN, TicketStatus.IN_PROGRESS),
        (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
        (TicketStatus.RESOLVED, TicketStatus.CLOSED),
    ]
    assert all(change.actor_id == company.it_agent.id for change in closed.history[1:])
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "ticket", ticket.id)
    assert [entry.action for entry in entries] == ["ticket.created"] + ["ticket.status_changed"] * 3
    assert entries[-1].details == {"from": "resolved", "to": "closed"}


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        ([], "open"),
        (["closed"], "open"),
        (["closed"], "resolved"),
        (["resolved"], "waiting_on_user"),
        (["in_progress"], "in_progress"),
    ],
)
async def test_impossible_transitions_are_refused(database: Database, company: Company, path: list[str], wanted: str) -> None:
    ticket = await open_ticket(database, company.alice)
    for status in path:
        await move(database, company.it_agent, ticket, status)
    with pytest.raises((InvalidRequest, Conflict)) as error:
        await move(database, company.it_agent, ticket, wanted)
    assert error.value.code in {"ticket_bad_transition", "ticket_same_status"}
    assert (await fetch(database, ticket)).status is TicketStatus(path[-1] if path else "open")
    assert len((await fetch(database, ticket)).history) == len(path) + 1


async def test_setting_the_current_status_again_is_a_conflict(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    await move(database, company.it_agent, ticket, "in_progress")
    with pytest.raises(Conflict) as error:
        await move(database, company.it_agent, ticket, "in_progress")
    assert error.value.code == "ticket_same_status"


async def test_the_requester_may_close_their_ticket(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    assert (await move(database, company.alice, ticket, "closed")).status is TicketStatus.CLOSED


async def test_the_requester_may_reopen_a_resolved_ticket(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    await move(database, company.it_agent, ticket, "resolved")
    reopened = await move(database, company.alice, ticket, "in_progress")
    assert reopened.status is TicketStatus.IN_PROGRESS
    assert reopened.resolved_at is None  # it is no longer resolved
    assert reopened.assignee_id is None  # a requester never becomes the assignee


@pytest.mark.parametrize(("path", "wanted"), [([], "in_progress"), ([], "resolved"), (["in_progress"], "waiting_on_user"), (["waiting_on_user"], "in_progress")])
async def test_the_requester_may_not_do_it_work(database: Database, company: Company, path: list[str], wanted: str) -> None:
    ticket = await open_ticket(database, company.alice)
    for status in path:
        await move(database, company.it_agent, ticket, status)
    with pytest.raises(PermissionDenied) as error:
        await move(database, company.alice, ticket, wanted)
    assert error.value.code == "role_required"


async def test_someone_elses_ticket_is_off_limits(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    async with database.transaction() as session:
        bob = await session.get(Employee, company.bob.id)
        assert bob is not None
        with pytest.raises(PermissionDenied) as error:
            await tickets.get_ticket(session, bob, ticket.id)
        assert error.value.code == "not_your_ticket"
        with pytest.raises(PermissionDenied):
            await tickets.change_status(session, bob, ticket.id, "closed")
        with pytest.raises(PermissionDenied):
            await tickets.add_comment(session, bob, ticket.id, "me too")
    assert (await fetch(database, ticket)).status is TicketStatus.OPEN


async def test_an_unknown_ticket_is_not_found(database: Database, company: Company) -> None:
    async with database.sessions() as session:
        agent = await session.get(Employee, company.it_agent.id)
        with pytest.raises(NotFound) as error:
            await tickets.get_ticket(session, agent, 999)  # type: ignore[arg-type]
    assert error.value.code == "ticket_not_found" and error.value.params["ticket_id"] == 999


async def test_an_unknown_status_is_an_invalid_request(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    with pytest.raises(InvalidRequest) as error:
        await move(database, company.it_agent, ticket, "done")
    assert error.value.code == "bad_status"


async def test_comments_are_kept_in_order_and_audited(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    await comment(database, company.it_agent, ticket, "Is it plugged in?")
    await comment(database, company.alice, ticket, "  Yes.  ")
    found = await fetch(database, ticket)
    assert [(c.author_id, c.text) for c in found.comments] == [(company.it_agent.id, "Is it plugged in?"), (company.alice.id, "Yes.")]
    assert found.status is TicketStatus.OPEN  # commenting on an open ticket changes nothing
    async with database.sessions() as session:
        actions = [entry.action for entry in await audit.entries_for(session, "ticket", ticket.id)]
    assert actions == ["ticket.created", "ticket.commented", "ticket.commented"]


async def test_an_empty_comment_is_refused(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    with pytest.raises(InvalidRequest) as error:
        await comment(database, company.alice, ticket, "  ")
    assert error.value.code == "empty_comment"


async def test_a_closed_ticket_takes_no_comments(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    await move(database, company.alice, ticket, "closed")
    with pytest.raises(Conflict) as error:
        await comment(database, company.alice, ticket, "one more thing")
    assert error.value.code == "ticket_closed"
    assert (await fetch(database, ticket)).comments == []


async def test_the_requesters_answer_hands_a_waiting_ticket_back_to_it(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    await move(database, company.it_agent, ticket, "waiting_on_user", comment="Which model is it?")
    await comment(database, company.it_agent, ticket, "Still waiting")
    assert (await fetch(database, ticket)).status is TicketStatus.WAITING_ON_USER  # IT's own comment doesn't count
    await comment(database, company.alice, ticket, "A ThinkPad T14")
    found = await fetch(database, ticket)
    assert found.status is TicketStatus.IN_PROGRESS and found.updated_at == NOW + timedelta(hours=1)
    assert (found.history[-1].from_status, found.history[-1].to_status, found.history[-1].actor_id) == (
        TicketStatus.WAITING_ON_USER,
        TicketStatus.IN_PROGRESS,
        company.alice.id,
    )
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "ticket", ticket.id)
    assert entries[-1].action == "ticket.status_changed"
    assert entries[-1].details == {"from": "waiting_on_user", "to": "in_progress"}


async def test_an_agent_assigns_a_ticket_to_another_agent(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    async with database.transaction() as session:
        agent = await session.get(Employee, company.it_agent.id)
        admin = await session.get(Employee, company.outsider.id)
        assert agent is not None and admin is not None
        admin.set_roles(["admin"])
        await session.flush()
        assigned = await tickets.assign(session, agent, ticket.id, admin, now=NOW + timedelta(minutes=5))
    assert assigned.assignee_id == company.outsider.id and assigned.updated_at == NOW + timedelta(minutes=5)
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "ticket", ticket.id)
    assert (entries[-1].action, entries[-1].details) == ("ticket.assigned", {"assignee_id": company.outsider.id})
    assert entries[-1].at == NOW + timedelta(minutes=5)
    # An agent picking up an already assigned ticket leaves the assignee alone.
    assert (await move(database, company.it_agent, ticket, "in_progress")).assignee_id == company.outsider.id


async def test_only_it_assigns_and_only_to_it(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        agent = await session.get(Employee, company.it_agent.id)
        keeper = await session.get(Employee, company.keeper.id)
        assert alice is not None and agent is not None and keeper is not None
        with pytest.raises(PermissionDenied) as not_it:
            await tickets.assign(session, alice, ticket.id, agent)
        assert not_it.value.code == "role_required"
        with pytest.raises(InvalidRequest) as not_agent:
            await tickets.assign(session, agent, ticket.id, keeper)
        assert not_agent.value.code == "assignee_not_agent"
    assert (await fetch(database, ticket)).assignee_id is None


async def test_a_closed_ticket_cannot_be_assigned(database: Database, company: Company) -> None:
    ticket = await open_ticket(database, company.alice)
    await move(database, company.alice, ticket, "closed")
    async with database.transaction() as session:
        agent = await session.get(Employee, company.it_agent.id)
        assert agent is not None
        with pytest.raises(Conflict) as error:
            await tickets.assign(session, agent, ticket.id, agent)
    assert error.value.code == "ticket_closed"
    assert (await fetch(database, ticket)).assignee_id is None


async def test_open_tickets_of_lists_only_the_requesters_unfinished_tickets(database: Database, company: Company) -> None:
    first = await open_ticket(database, company.alice, "one")
    waiting = await open_ticket(database, company.alice, "two")
    done = await open_ticket(database, company.alice, "three")
    await open_ticket(database, company.bob, "bob's")
    await move(database, company.it_agent, waiting, "waiting_on_user")
    await move(database, company.it_agent, done, "resolved")
    async with database.sessions() as session:
        alice = await session.get(Employee, company.alice.id)
        assert [t.id for t in await tickets.open_tickets_of(session, alice)] == [first.id, waiting.id]  # type: ignore[arg-type]


async def test_overdue_tickets_are_unfinished_ones_past_their_sla(database: Database, company: Company) -> None:
    critical = await open_ticket(database, company.alice, "server down", priority="critical")  # due 13:00
    normal = await open_ticket(database, company.bob, "new mouse")  # due next day 09:00
    resolved = await open_ticket(database, company.bob, "vpn", priority="high")  # due 17:00, but resolved
    await move(database, company.it_agent, resolved, "resolved")
    async with database.sessions() as session:
        assert await tickets.overdue_tickets(session, NOW + timedelta(hours=4)) == []  # exactly at the deadline is in time
        assert [t.id for t in await tickets.overdue_tickets(session, NOW + timedelta(hours=9))] == [critical.id]
        late = await tickets.overdue_tickets(session, NOW + timedelta(days=2))
    assert [t.id for t in late] == [critical.id, normal.id]
    assert all(t.overdue(NOW + timedelta(days=2)) for t in late)
    assert not (await fetch(database, resolved)).overdue(NOW + timedelta(days=2))


async def test_an_agent_s_queue_is_their_open_tickets_and_the_unassigned_ones_soonest_due_first(database: Database, company: Company) -> None:
    low = await open_ticket(database, company.alice, "The wallpaper is ugly", priority=Priority.LOW)
    urgent = await open_ticket(database, company.bob, "The whole floor has no network", priority=Priority.CRITICAL)
    mine = await move(database, company.it_agent, await open_ticket(database, company.alice, "Laptop is slow"), TicketStatus.IN_PROGRESS)
    await move(database, company.it_agent, await open_ticket(database, company.bob, "Old problem"), TicketStatus.CLOSED)
    async with database.sessions() as session:
        agent = await session.get(Employee, company.it_agent.id)
        alice = await session.get(Employee, company.alice.id)
        assert agent is not None and alice is not None
        queue = await tickets.queue_of(session, agent)
        with pytest.raises(PermissionDenied):
            await tickets.queue_of(session, alice)
    assert [ticket.id for ticket in queue] == [urgent.id, mine.id, low.id]
