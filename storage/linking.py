"""Linking chat accounts to employees: one-time link codes, and unlinking.

A person (or an admin for them) gets a short code; sending it to the assistant from a chat account (Telegram's
`/start CODE` or `/link CODE`) links that account to the person. Only the code's SHA-256 is stored; a code works
once, within LIFETIME, on the platform it was made for (any chat platform when none was named), and a new code
withdraws the person's earlier unused ones. Issuing, linking and unlinking are audited — never the code itself.

An account belongs to one person: linking an account that is someone else's is refused (unlink it first), and a
person has one account per platform (a new one replaces the old). The conversation of an account that is removed
is forgotten with it, so whoever is linked to that account next never resumes someone else's half-filled form.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage import audit, people
from storage.base import Base, str_enum, utcnow
from storage.conversations import ConversationState
from storage.errors import InvalidRequest
from storage.people import ChatIdentity, Employee, Platform

LIFETIME = timedelta(minutes=15)
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so a code read aloud or retyped can't be misread (50 bits in 10 letters)."""
CODE_LENGTH = 10
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")


class LinkCode(Base):
    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    platform: Mapped[Platform | None] = mapped_column(str_enum(Platform), doc="None: any chat platform.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    redeemed_at: Mapped[datetime | None]


class LinkRefused(InvalidRequest):
    """A code that links nothing. `code` says why, for a translated reply: link_code_unknown (never issued, or
    its person has left), link_code_expired (also one withdrawn by a newer code), link_code_used,
    link_code_other_platform."""

    code = "link_code_unknown"


@dataclass(frozen=True)
class IssuedCode:
    code: str
    """As shown to the person, e.g. `7KQ4M-2XH9P`; it is not stored anywhere."""
    expires_at: datetime
    platform: Platform | None


@dataclass(frozen=True)
class Linked:
    employee: Employee
    identity: ChatIdentity
    already: bool
    """The account was theirs before (a retried `/start CODE`, or linking twice): nothing changed."""


def normalise(code: str) -> str | None:
    """The code in canonical form (upper case, no separators, misread letters fixed), or None if it can't be one."""
    canonical = _SEPARATORS.sub("", code).upper().translate(_MISREAD)
    if len(canonical) != CODE_LENGTH or any(char not in ALPHABET for char in canonical):
        return None
    return canonical


def _digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _shown(canonical: str) -> str:
    half = CODE_LENGTH // 2
    return f"{canonical[:half]}-{canonical[half:]}"


async def issue(
    session: AsyncSession,
    employee: Employee,
    *,
    platform: Platform | str | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> IssuedCode:
    """A new one-time code for the person (withdrawing their unused ones)."""
    now = now or utcnow()
    if not employee.active:
        raise InvalidRequest(f"{employee.name} has left the company.", code="employee_inactive", email=employee.email)
    wanted = Platform(platform) if platform is not None else None
    await session.execute(
        update(LinkCode)
        .where(LinkCode.employee_id == employee.id, LinkCode.redeemed_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
    )
    canonical = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    row = LinkCode(code_hash=_digest(canonical), employee_id=employee.id, platform=wanted, created_at=now, expires_at=now + LIFETIME)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="link_code.issued",
        entity="employee",
        entity_id=employee.id,
        details={"link_code": row.id, "platform": wanted.value if wanted else None, "expires_at": row.expires_at.isoformat()},
        at=now,
    )
    return IssuedCode(_shown(canonical), row.expires_at, wanted)


async def redeem(
    session: AsyncSession,
    code: str,
    platform: Platform | str,
    external_id: str,
    *,
    team_id: str | None = None,
    private_address: str | None = None,
    now: datetime | None = None,
) -> Linked:
    """Link the chat account (platform, external_id) to the person the code was issued for.

    Raises LinkRefused (see its codes), or Conflict `identity_taken` when the account is someone else's.
    """
    now = now or utcnow()
    platform = Platform(platform)
    canonical = normalise(code)
    row = await session.scalar(select(LinkCode).where(LinkCode.code_hash == _digest(canonical))) if canonical else None
    employee = await session.get(Employee, row.employee_id) if row is not None else None
    if row is None or employee is None or not employee.active:
        raise LinkRefused("That link code is not valid.", code="link_code_unknown")
    current = await session.scalar(
        select(ChatIdentity).where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)
    )
    if current is not None and current.employee_id == employee.id and (row.redeemed_at is not None or row.expires_at > now):
        # Already theirs: a platform retrying `/start CODE`, or someone linking twice; say so again, and only
        # note where their private chat is.
        await _consume(session, row, now)
        if private_address is not None:
            current.private_address = private_address
        if team_id is not None:
            current.team_id = team_id
        return Linked(employee, current, already=True)
    if row.redeemed_at is not None:
        raise LinkRefused("That link code has been used already.", code="link_code_used")
    if row.expires_at <= now:
        raise LinkRefused("That link code has expired.", code="link_code_expired")
    if row.platform is not None and row.platform != platform:
        raise LinkRefused(
            f"That link code is for {row.platform.value}.", code="link_code_other_platform", platform=row.platform.value
        )
    if not await _consume(session, row, now):
        raise LinkRefused("That link code has been used already.", code="link_code_used")
    identity, replaced = await people.claim_identity(
        session, employee, platform, external_id, team_id=team_id, private_address=private_address
    )
    await forget_conversations(session, platform, [other.external_id for other in replaced])
    await audit.record(
        session,
        actor_id=employee.id,
        action="identity.linked",
        entity="employee",
        entity_id=employee.id,
        details={
            "platform": platform.value,
            "external_id": external_id,
            "link_code": row.id,
            "replaced": [other.external_id for other in replaced],
        },
        at=now,
    )
    return Linked(employee, identity, already=False)


async def _consume(session: AsyncSession, row: LinkCode, now: datetime) -> bool:
    """Mark the code used, once: of two redemptions at the same moment only one changes the row."""
    if row.redeemed_at is not None:
        return False
    result = await session.execute(
        update(LinkCode)
        .where(LinkCode.id == row.id, LinkCode.redeemed_at.is_(None), LinkCode.expires_at > now)
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    consumed = bool(getattr(result, "rowcount", 0) == 1)
    if consumed:
        row.redeemed_at = now
    return consumed


async def link(
    session: AsyncSession,
    employee: Employee,
    platform: Platform | str,
    external_id: str,
    *,
    actor_id: int | None = None,
    via: str,
    now: datetime | None = None,
    team_id: str | None = None,
    private_address: str | None = None,
) -> bool:
    """Link an account by an administrator's say-so (an import file) or the platform's (a Slack profile email);
    True if anything changed."""
    platform = Platform(platform)
    before = {identity.external_id for identity in await people.identities_on(session, employee.id, platform)}
    if before == {external_id}:
        return False
    _, replaced = await people.claim_identity(
        session, employee, platform, external_id, team_id=team_id, private_address=private_address
    )
    await forget_conversations(session, platform, [other.external_id for other in replaced])
    await audit.record(
        session,
        actor_id=actor_id,
        action="identity.linked",
        entity="employee",
        entity_id=employee.id,
        details={"platform": platform.value, "external_id": external_id, "via": via, "replaced": [o.external_id for o in replaced]},
        at=now,
    )
    return True


async def unlink(
    session: AsyncSession,
    employee: Employee,
    platform: Platform | str,
    *,
    actor_id: int | None = None,
    via: str,
    now: datetime | None = None,
) -> list[str]:
    """Remove the person's accounts on a platform (and their conversations); returns the removed account ids."""
    platform = Platform(platform)
    removed = [identity.external_id for identity in await people.remove_identities(session, employee.id, platform)]
    if not removed:
        raise InvalidRequest(
            f"{employee.email} has no {platform.value} account linked.", code="identity_not_linked", platform=platform.value
        )
    await forget_conversations(session, platform, removed)
    await audit.record(
        session,
        actor_id=actor_id,
        action="identity.unlinked",
        entity="employee",
        entity_id=employee.id,
        details={"platform": platform.value, "external_ids": removed, "via": via},
        at=now,
    )
    return removed


async def forget_conversations(session: AsyncSession, platform: Platform, external_ids: list[str]) -> None:
    if external_ids:
        await session.execute(
            delete(ConversationState)
            .where(ConversationState.platform == platform.value, ConversationState.user_id.in_(external_ids))
            .execution_options(synchronize_session=False)
        )
