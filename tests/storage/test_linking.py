"""Link codes and unlinking on SQLite and PostgreSQL: one use, fifteen minutes, only a hash stored, all audited."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import importers, linking, people
from storage.audit import AuditEntry
from storage.conversations import ConversationKey, ConversationState, Snapshot, save
from storage.database import Database
from storage.errors import Conflict, DomainError, InvalidRequest
from storage.linking import LinkCode, LinkRefused
from storage.people import ChatIdentity, Employee, Platform
from tests.factories import Company

NOW = datetime(2026, 11, 23, 9, 0)


async def issue(database: Database, employee: Employee, *, now: datetime = NOW, **options: object) -> linking.IssuedCode:
    async with database.transaction() as session:
        fresh = await session.get(Employee, employee.id)
        assert fresh is not None
        return await linking.issue(session, fresh, now=now, **options)  # type: ignore[arg-type]


async def redeem(
    database: Database, code: str, external_id: str, *, platform: str = "telegram", now: datetime = NOW, **options: object
) -> linking.Linked:
    async with database.transaction() as session:
        return await linking.redeem(session, code, platform, external_id, now=now, **options)  # type: ignore[arg-type]


async def refusal(database: Database, code: str, external_id: str, **options: object) -> str:
    with pytest.raises(DomainError) as caught:
        await redeem(database, code, external_id, **options)  # type: ignore[arg-type]
    return caught.value.code


async def identities(database: Database, platform: str = "telegram") -> dict[str, int]:
    async with database.sessions() as session:
        rows = await session.execute(select(ChatIdentity.external_id, ChatIdentity.employee_id).where(ChatIdentity.platform == Platform(platform)))
        return {external_id: employee_id for external_id, employee_id in rows}


async def audit_actions(database: Database) -> list[tuple[str, dict[str, object]]]:
    async with database.sessions() as session:
        rows = await session.execute(select(AuditEntry.action, AuditEntry.details).order_by(AuditEntry.id))
        return [(action, details) for action, details in rows]


def test_codes_are_read_forgivingly_and_garbage_is_no_code() -> None:
    assert linking.normalise("7kq4m-2xh9p") == "7KQ4M2XH9P"
    assert linking.normalise(" 7KQ4M 2XH9P ") == "7KQ4M2XH9P"
    assert linking.normalise("OIL00-00000") == "01100" + "00000"  # O, I and L are read as the digits they look like
    assert linking.normalise("7KQ4M-2XH9") is None
    assert linking.normalise("UUUUU-UUUUU") is None  # U is not in the alphabet
    assert linking.normalise("７KQ4M-2XH9P") is None  # fullwidth digit
    assert linking.normalise("") is None


async def test_a_code_is_shown_once_and_only_its_hash_is_stored(database: Database, company: Company) -> None:
    issued = await issue(database, company.alice)
    assert len(issued.code) == 11 and issued.code[5] == "-"
    assert issued.expires_at == NOW + timedelta(minutes=15)
    async with database.sessions() as session:
        row = (await session.scalars(select(LinkCode))).one()
    assert row.employee_id == company.alice.id and row.redeemed_at is None
    canonical = linking.normalise(issued.code)
    assert canonical is not None and canonical not in row.code_hash and issued.code not in row.code_hash
    assert len(row.code_hash) == 64
    [(action, details)] = await audit_actions(database)
    assert action == "link_code.issued"
    assert canonical not in str(details) and issued.code not in str(details)


async def test_redeeming_links_the_account_once_and_is_audited(database: Database, company: Company) -> None:
    issued = await issue(database, company.alice)
    linked = await redeem(database, issued.code.lower(), "555001", private_address="555001", now=NOW + timedelta(minutes=14))
    assert linked.employee.id == company.alice.id and not linked.already
    assert linked.identity.private_address == "555001"
    assert await identities(database) == {"555001": company.alice.id}
    assert ("identity.linked", {"platform": "telegram", "external_id": "555001", "link_code": 1, "replaced": []}) in await audit_actions(database)

    assert await refusal(database, issued.code, "555002") == "link_code_used"
    assert await identities(database) == {"555001": company.alice.id}


async def test_a_retried_redemption_from_the_same_account_is_welcomed_again(database: Database, company: Company) -> None:
    issued = await issue(database, company.alice)
    await redeem(database, issued.code, "555001")
    again = await redeem(database, issued.code, "555001", now=NOW + timedelta(hours=3))
    assert again.already and again.employee.id == company.alice.id
    assert [action for action, _ in await audit_actions(database)].count("identity.linked") == 1


@pytest.mark.parametrize(
    ("code", "offset", "platform", "expected"),
    [
        ("not a code", 0, "telegram", "link_code_unknown"),
        ("ZZZZZ-ZZZZZ", 0, "telegram", "link_code_unknown"),
        (None, 15, "telegram", "link_code_expired"),
        (None, 0, "slack", "link_code_other_platform"),
    ],
)
async def test_a_code_that_links_nothing_says_why(
    database: Database, company: Company, code: str | None, offset: int, platform: str, expected: str
) -> None:
    issued = await issue(database, company.alice, platform="telegram")
    moment = NOW + timedelta(minutes=offset)
    assert await refusal(database, code or issued.code, "U0ALICE", platform=platform, now=moment) == expected
    assert await identities(database) == {} and await identities(database, "slack") == {}


async def test_a_new_code_withdraws_the_unused_one(database: Database, company: Company) -> None:
    first = await issue(database, company.alice)
    second = await issue(database, company.alice, now=NOW + timedelta(minutes=1))
    assert await refusal(database, first.code, "555001", now=NOW + timedelta(minutes=2)) == "link_code_expired"
    assert (await redeem(database, second.code, "555001", now=NOW + timedelta(minutes=2))).employee.id == company.alice.id


async def test_someone_who_left_gets_no_code_and_their_code_stops_working(database: Database, company: Company) -> None:
    issued = await issue(database, company.alice)
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        alice.active = False
    assert await refusal(database, issued.code, "555001") == "link_code_unknown"
    with pytest.raises(InvalidRequest):
        await issue(database, company.alice)


async def test_an_account_of_someone_else_is_refused(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        bob = await session.get(Employee, company.bob.id)
        assert bob is not None
        await people.link_identity(session, bob, Platform.TELEGRAM, "555001")
    issued = await issue(database, company.alice)
    with pytest.raises(Conflict) as caught:
        await redeem(database, issued.code, "555001")
    assert caught.value.code == "identity_taken"
    assert await identities(database) == {"555001": company.bob.id}
    # The refusal rolled back: the code is still good for the person's own account.
    assert (await redeem(database, issued.code, "555002")).employee.id == company.alice.id


async def test_a_new_account_replaces_the_old_one_and_its_conversation_is_forgotten(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        await people.link_identity(session, alice, Platform.TELEGRAM, "555001")
        await people.link_identity(session, alice, Platform.SLACK, "U0ALICE")
        await save(session, Snapshot(ConversationKey("telegram", "555001", "555001"), {"forms": [{"name": "hr_escalate"}]}))
    issued = await issue(database, company.alice)
    await redeem(database, issued.code, "555999")
    assert await identities(database) == {"555999": company.alice.id}
    assert await identities(database, "slack") == {"U0ALICE": company.alice.id}
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0


async def test_two_redemptions_at_once_link_one_account(database: Database, company: Company) -> None:
    issued = await issue(database, company.alice)
    results = await asyncio.gather(redeem(database, issued.code, "555001"), redeem(database, issued.code, "555002"), return_exceptions=True)
    linked = [result for result in results if isinstance(result, linking.Linked)]
    refused = [result for result in results if isinstance(result, LinkRefused)]
    assert len(linked) == 1 and len(refused) == 1 and refused[0].code == "link_code_used"
    assert list((await identities(database)).values()) == [company.alice.id]


async def test_unlinking_removes_the_account_and_its_conversation_and_is_audited(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        await people.link_identity(session, alice, Platform.TELEGRAM, "555001")
        await people.link_identity(session, alice, Platform.SLACK, "U0ALICE")
        await save(session, Snapshot(ConversationKey("telegram", "555001", "555001"), {"lang": "en"}))
        assert await linking.unlink(session, alice, "telegram", via="command line") == ["555001"]
    assert await identities(database) == {} and await identities(database, "slack") == {"U0ALICE": company.alice.id}
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
    assert ("identity.unlinked", {"platform": "telegram", "external_ids": ["555001"], "via": "command line"}) in await audit_actions(database)
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        with pytest.raises(InvalidRequest) as caught:
            await linking.unlink(session, alice, "telegram", via="command line")
    assert caught.value.code == "identity_not_linked"


# The employees file's optional account columns --------------------------------------------------------------------

HEADER = "email,name,department,job_title,manager_email,roles,language,timezone,calendar,slack_user_id,telegram_user_id\n"


def employees_file(tmp_path: Path, *rows: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


async def test_the_employees_file_links_slack_and_telegram_accounts(database: Database, tmp_path: Path) -> None:
    path = employees_file(
        tmp_path,
        "ann@acme.example,Ann A,,,,,en,UTC,,u04ann,123456789",
        "ben@acme.example,Ben B,,,,,en,UTC,,,",
    )
    async with database.transaction() as session:
        report = await importers.import_employees(session, path)
    assert report.created == 2
    async with database.sessions() as session:
        ann = await people.find_by_email(session, "ann@acme.example")
        assert ann is not None
    assert await identities(database, "slack") == {"U04ANN": ann.id}
    assert await identities(database) == {"123456789": ann.id}

    # A later file changes the Telegram account; an empty cell leaves the Slack one alone.
    again = employees_file(tmp_path, "ann@acme.example,Ann A,,,,,en,UTC,,,987654321", name="again.csv")
    async with database.transaction() as session:
        report = await importers.import_employees(session, again)
    assert (report.updated, report.unchanged) == (1, 0)
    assert await identities(database) == {"987654321": ann.id}
    assert await identities(database, "slack") == {"U04ANN": ann.id}
    async with database.transaction() as session:
        report = await importers.import_employees(session, again)
    assert report.unchanged == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["ann@acme.example,Ann A,,,,,en,UTC,,B04ANN,"], "row 2: slack_user_id 'B04ANN' is not a Slack member ID"),
        (["ann@acme.example,Ann A,,,,,en,UTC,,,@ann"], "row 2: telegram_user_id '@ann' is not a Telegram user id"),
        (["ann@acme.example,Ann A,,,,,en,UTC,,,12", "ben@acme.example,Ben B,,,,,en,UTC,,,12"], "row 3: telegram user 12 is also on row 2"),
        (["ann@acme.example,Ann A,,,,,en,UTC,,,555001"], "row 2: telegram user 555001 is linked to alice@example.com"),
    ],
)
async def test_a_bad_account_column_rejects_the_file(
    database: Database, company: Company, tmp_path: Path, rows: list[str], message: str
) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        await people.link_identity(session, alice, Platform.TELEGRAM, "555001")
    with pytest.raises(importers.ImportFailed, match=message):
        async with database.transaction() as session:
            await importers.import_employees(session, employees_file(tmp_path, *rows))
    assert await identities(database) == {"555001": company.alice.id}
    async with database.sessions() as session:
        assert await people.find_by_email(session, "ann@acme.example") is None
