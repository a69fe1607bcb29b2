"""Leave rules on SQLite and PostgreSQL: counting, validation, balances, decisions, cancellation, races."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from storage import audit, leave
from storage.database import Database
from storage.errors import Conflict, InsufficientBalance, InvalidRequest, PermissionDenied
from storage.holidays import PublicHoliday, working_days
from storage.leave import LeaveBalance, LeaveRequest, LeaveStatus
from storage.people import Employee
from tests.factories import TEST_CALENDAR, TEST_HOLIDAY, Company

TODAY = date(2026, 11, 23)  # a Monday


async def file(database: Database, who: Employee, start: date, end: date, kind: str = "annual", **options: object) -> LeaveRequest:
    async with database.transaction() as session:
        employee = await session.get(Employee, who.id)
        assert employee is not None
        return await leave.request_leave(session, employee, leave_type=kind, start=start, end=end, today=TODAY, **options)  # type: ignore[arg-type]


async def balance_of(database: Database, who: Employee, kind: str = "annual", year: int = 2026) -> LeaveBalance:
    async with database.sessions() as session:
        employee = await session.get(Employee, who.id)
        assert employee is not None
        return await leave.balance(session, employee, kind, year)


def test_working_days_skip_weekends_and_holidays() -> None:
    # Mon 30 Nov – Sun 6 Dec with a holiday on Thursday 3 Dec: four working days.
    assert working_days(date(2026, 11, 30), date(2026, 12, 6), {TEST_HOLIDAY}) == Decimal(4)
    assert working_days(date(2026, 11, 30), date(2026, 12, 2), set(), half_day_start=True) == Decimal("2.5")
    assert working_days(date(2026, 11, 30), date(2026, 12, 2), set(), half_day_start=True, half_day_end=True) == Decimal(2)
    assert working_days(date(2026, 12, 1), date(2026, 12, 1), set(), half_day_end=True) == Decimal("0.5")
    assert working_days(date(2026, 12, 5), date(2026, 12, 6), set()) == Decimal(0)


def test_half_day_clash_and_reversed_dates_are_refused() -> None:
    with pytest.raises(InvalidRequest) as reversed_dates:
        working_days(date(2026, 12, 5), date(2026, 12, 1), set())
    assert reversed_dates.value.code == "end_before_start"
    with pytest.raises(InvalidRequest) as clash:
        working_days(date(2026, 12, 1), date(2026, 12, 1), set(), half_day_start=True, half_day_end=True)
    assert clash.value.code == "half_days_clash"


async def test_request_reserves_pending_days(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 11, 30), date(2026, 12, 4))
    assert request.status is LeaveStatus.PENDING
    assert request.days == Decimal(4)  # Thursday is a holiday
    balance = await balance_of(database, company.alice)
    assert (balance.entitled, balance.pending, balance.taken, balance.remaining) == (24, 4, 0, 20)
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "leave_request", request.id)
    assert [entry.action for entry in entries] == ["leave.requested"]
    assert entries[0].actor_id == company.alice.id


async def test_preview_counts_without_filing(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        plan = await leave.preview(session, alice, leave_type="annual", start=date(2026, 11, 30), end=date(2026, 12, 4), today=TODAY)
    assert plan.days == Decimal(4) and plan.remaining_after == Decimal(20)
    assert plan.holidays == {TEST_HOLIDAY: "Test Day"}
    async with database.sessions() as session:
        assert await session.scalar(select(LeaveRequest.id)) is None


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (date(2026, 12, 10), date(2026, 12, 8), "end_before_start"),
        (date(2026, 11, 10), date(2026, 11, 12), "start_in_past"),
        (date(2026, 12, 5), date(2026, 12, 6), "no_working_days"),
        (date(2028, 1, 10), date(2028, 1, 12), "too_far_ahead"),
    ],
)
async def test_invalid_dates_are_refused_and_nothing_is_written(
    database: Database, company: Company, start: date, end: date, code: str
) -> None:
    with pytest.raises(InvalidRequest) as error:
        await file(database, company.alice, start, end)
    assert error.value.code == code
    async with database.sessions() as session:
        assert await session.scalar(select(LeaveRequest.id)) is None
    assert (await balance_of(database, company.alice)).pending == 0


async def test_a_recent_start_within_the_grace_is_accepted(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 11, 20), date(2026, 11, 20), kind="sick")
    assert request.status is LeaveStatus.APPROVED  # sick leave needs no approval
    assert (await balance_of(database, company.alice, "sick")).taken == Decimal(1)


async def test_overlap_with_own_active_leave_is_refused(database: Database, company: Company) -> None:
    first = await file(database, company.alice, date(2026, 12, 7), date(2026, 12, 11))
    with pytest.raises(Conflict) as error:
        await file(database, company.alice, date(2026, 12, 11), date(2026, 12, 15), kind="unpaid")
    assert error.value.code == "leave_overlap" and error.value.params["request_id"] == first.id
    # Someone else's leave on the same days is no obstacle.
    assert (await file(database, company.bob, date(2026, 12, 7), date(2026, 12, 11))).status is LeaveStatus.PENDING


async def test_rejected_leave_no_longer_blocks_the_dates(database: Database, company: Company) -> None:
    first = await file(database, company.alice, date(2026, 12, 7), date(2026, 12, 8))
    async with database.transaction() as session:
        await leave.decide(session, await session.get(Employee, company.manager.id), first.id, approve=False)  # type: ignore[arg-type]
    again = await file(database, company.alice, date(2026, 12, 7), date(2026, 12, 8))
    assert again.status is LeaveStatus.PENDING


async def test_more_days_than_the_balance_are_refused(database: Database, company: Company) -> None:
    with pytest.raises(InsufficientBalance) as error:
        await file(database, company.alice, date(2026, 12, 1), date(2027, 1, 29), kind="study")
    assert error.value.params["leave_type"] == "study"
    # Unpaid leave has no allowance to run out of.
    unpaid = await file(database, company.alice, date(2026, 12, 1), date(2026, 12, 31), kind="unpaid")
    assert unpaid.status is LeaveStatus.PENDING and unpaid.days > 10


async def test_leave_across_new_year_counts_against_each_year(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 28), date(2027, 1, 5))
    assert request.days == Decimal(7)
    assert (await balance_of(database, company.alice, year=2026)).pending == Decimal(4)
    assert (await balance_of(database, company.alice, year=2027)).pending == Decimal(3)


async def test_manager_approval_moves_days_from_pending_to_taken(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        manager = await session.get(Employee, company.manager.id)
        decided = await leave.decide(session, manager, request.id, approve=True, comment="enjoy")  # type: ignore[arg-type]
    assert decided.status is LeaveStatus.APPROVED and decided.approver_id == company.manager.id
    assert decided.decision_comment == "enjoy" and decided.decided_at is not None
    balance = await balance_of(database, company.alice)
    assert (balance.pending, balance.taken) == (0, 5)


async def test_rejection_gives_the_days_back(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        hr = await session.get(Employee, company.hr.id)
        decided = await leave.decide(session, hr, request.id, approve=False, comment="audit week")  # type: ignore[arg-type]
    assert decided.status is LeaveStatus.REJECTED
    balance = await balance_of(database, company.alice)
    assert (balance.pending, balance.taken, balance.remaining) == (0, 0, 24)


@pytest.mark.parametrize("decider", ["outsider", "alice", "bob", "it_agent"])
async def test_only_the_manager_or_hr_may_decide(database: Database, company: Company, decider: str) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        someone = await session.get(Employee, getattr(company, decider).id)
        with pytest.raises(PermissionDenied):
            await leave.decide(session, someone, request.id, approve=True)  # type: ignore[arg-type]
    async with database.sessions() as session:
        assert (await leave.get_request(session, request.id)).status is LeaveStatus.PENDING


async def test_a_second_decision_is_refused(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        await leave.decide(session, await session.get(Employee, company.manager.id), request.id, approve=True)  # type: ignore[arg-type]
    async with database.transaction() as session:
        with pytest.raises(Conflict) as error:
            await leave.decide(session, await session.get(Employee, company.hr.id), request.id, approve=False)  # type: ignore[arg-type]
    assert error.value.code == "leave_already_decided" and error.value.params["status"] == "approved"
    assert (await balance_of(database, company.alice)).taken == 5


async def test_cancelling_pending_leave_returns_days_and_blocks_decisions(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        cancelled = await leave.cancel(session, await session.get(Employee, company.alice.id), request.id, today=TODAY)  # type: ignore[arg-type]
    assert cancelled.status is LeaveStatus.CANCELLED
    assert (await balance_of(database, company.alice)).pending == 0
    async with database.transaction() as session:
        with pytest.raises(Conflict) as error:
            await leave.decide(session, await session.get(Employee, company.manager.id), request.id, approve=True)  # type: ignore[arg-type]
    assert error.value.params["status"] == "cancelled"


async def test_cancelling_approved_future_leave_gives_days_back(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        await leave.decide(session, await session.get(Employee, company.manager.id), request.id, approve=True)  # type: ignore[arg-type]
    async with database.transaction() as session:
        await leave.cancel(session, await session.get(Employee, company.alice.id), request.id, today=TODAY)  # type: ignore[arg-type]
    balance = await balance_of(database, company.alice)
    assert (balance.taken, balance.pending, balance.remaining) == (0, 0, 24)


async def test_started_leave_and_other_peoples_leave_cannot_be_cancelled(database: Database, company: Company) -> None:
    sick = await file(database, company.alice, date(2026, 11, 23), date(2026, 11, 24), kind="sick")
    async with database.transaction() as session:
        with pytest.raises(Conflict) as started:
            await leave.cancel(session, await session.get(Employee, company.alice.id), sick.id, today=TODAY)  # type: ignore[arg-type]
        assert started.value.code == "leave_already_started"
        with pytest.raises(PermissionDenied):
            await leave.cancel(session, await session.get(Employee, company.bob.id), sick.id, today=TODAY)  # type: ignore[arg-type]


async def test_pending_for_lists_what_each_decider_may_decide(database: Database, company: Company) -> None:
    mine = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 15))
    other_team = await file(database, company.outsider, date(2026, 12, 14), date(2026, 12, 15))
    async with database.sessions() as session:
        manager = await session.get(Employee, company.manager.id)
        hr = await session.get(Employee, company.hr.id)
        assert [r.id for r in await leave.pending_for(session, manager)] == [mine.id]  # type: ignore[arg-type]
        assert {r.id for r in await leave.pending_for(session, hr)} == {mine.id, other_team.id}  # type: ignore[arg-type]


async def test_simultaneous_requests_never_overspend_the_balance(database: Database, company: Company) -> None:
    # 24 days of annual leave; each request takes 10 working days on dates that don't overlap: two fit, three don't.
    ranges = [
        (date(2027, 1, 4), date(2027, 1, 15)),
        (date(2027, 2, 1), date(2027, 2, 12)),
        (date(2027, 3, 1), date(2027, 3, 12)),
    ]
    results = await asyncio.gather(*(file(database, company.alice, start, end) for start, end in ranges), return_exceptions=True)
    succeeded = [r for r in results if isinstance(r, LeaveRequest)]
    refused = [r for r in results if isinstance(r, InsufficientBalance)]
    assert (len(succeeded), len(refused)) == (2, 1), results
    balance = await balance_of(database, company.alice, year=2027)
    assert balance.pending == Decimal(20) and balance.remaining == Decimal(4)


async def test_simultaneous_overlapping_requests_file_only_one(database: Database, company: Company) -> None:
    results = await asyncio.gather(
        file(database, company.alice, date(2026, 12, 14), date(2026, 12, 16)),
        file(database, company.alice, date(2026, 12, 15), date(2026, 12, 17), kind="unpaid"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "LeaveRequest"], results


async def test_simultaneous_decisions_yield_exactly_one(database: Database, company: Company) -> None:
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))

    async def decide(who: Employee, approve: bool) -> LeaveRequest:
        async with database.transaction() as session:
            decider = await session.get(Employee, who.id)
            return await leave.decide(session, decider, request.id, approve=approve)  # type: ignore[arg-type]

    results = await asyncio.gather(
        decide(company.manager, True), decide(company.hr, False), decide(company.manager, True), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, LeaveRequest)]
    assert len(winners) == 1 and all(isinstance(r, Conflict) for r in results if r not in winners), results
    balance = await balance_of(database, company.alice)
    assert balance.pending == 0
    assert balance.taken == (5 if winners[0].status is LeaveStatus.APPROVED else 0)


async def test_a_holiday_added_after_filing_does_not_unbalance_the_decision(database: Database, company: Company) -> None:
    # Filed as 5 working days; a holiday declared later inside the leave must not change what moves on decision.
    request = await file(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        session.add(PublicHoliday(calendar=TEST_CALENDAR, day=date(2026, 12, 16), name="Declared later"))
    async with database.transaction() as session:
        await leave.decide(session, await session.get(Employee, company.manager.id), request.id, approve=True)  # type: ignore[arg-type]
    balance = await balance_of(database, company.alice)
    assert (balance.pending, balance.taken) == (0, 5)
    async with database.transaction() as session:
        await leave.cancel(session, await session.get(Employee, company.alice.id), request.id, today=TODAY)  # type: ignore[arg-type]
    balance = await balance_of(database, company.alice)
    assert (balance.pending, balance.taken, balance.remaining) == (0, 0, 24)
