"""schedules: scheduled jobs as data, the scheduler's leader lease, the low-stock crossing

Personal reminders waiting in the outbox (payload kind "reminder") become one-off schedules, so they are listed
and cancelled like the recurring ones; a downgrade puts the one-off ones back in the outbox (recurring ones have
no place there and are dropped).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


outbox = sa.table(
    'outbox', sa.column('id', sa.Integer), sa.column('recipient_id', sa.Integer), sa.column('payload', sa.JSON),
    sa.column('due_at', sa.DateTime), sa.column('created_at', sa.DateTime), sa.column('status', sa.String),
    sa.column('kind', sa.String), sa.column('idempotency_key', sa.String), sa.column('attempts', sa.Integer),
    sa.column('last_error', sa.Text),
)
employees = sa.table('employees', sa.column('id', sa.Integer), sa.column('language', sa.String), sa.column('timezone', sa.String))
schedules = sa.table(
    'schedules', sa.column('id', sa.Integer), sa.column('kind', sa.String), sa.column('owner_id', sa.Integer),
    sa.column('payload', sa.JSON), sa.column('rule', sa.Text), sa.column('once_at', sa.DateTime),
    sa.column('timezone', sa.String), sa.column('working_days', sa.String), sa.column('quiet_hours', sa.Boolean),
    sa.column('explicit_time', sa.Boolean), sa.column('next_due', sa.DateTime), sa.column('active', sa.Boolean),
    sa.column('created_at', sa.DateTime), sa.column('last_error', sa.Text),
)


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=True),
    sa.Column('once_at', sa.DateTime(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('working_days', sa.Enum('any', 'skip', 'next', name='workingdays', native_enum=False, length=20), nullable=False),
    sa.Column('quiet_hours', sa.Boolean(), nullable=False),
    sa.Column('explicit_time', sa.Boolean(), nullable=False),
    sa.Column('next_due', sa.DateTime(), nullable=True),
    sa.Column('last_fired', sa.DateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['employees.id'], name=op.f('fk_schedules_owner_id_employees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules')),
    sa.UniqueConstraint('slug', name=op.f('uq_schedules_slug'))
    )
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.create_index('ix_schedules_due', ['active', 'next_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedules_owner_id'), ['owner_id'], unique=False)

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=40), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('low_since', sa.DateTime(), nullable=True))

    _reminders_to_schedules()


def _reminders_to_schedules() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.recipient_id, outbox.c.payload, outbox.c.due_at, outbox.c.created_at, employees.c.language, employees.c.timezone)
        .join(employees, employees.c.id == outbox.c.recipient_id)
        .where(outbox.c.status == 'pending', outbox.c.kind == 'send')
    ).all()
    moved = []
    for message_id, recipient, payload, due_at, created_at, language, timezone in rows:
        if not isinstance(payload, dict) or payload.get('kind') != 'reminder':
            continue
        what = str(payload.get('what', ''))
        connection.execute(schedules.insert().values(
            kind='personal', owner_id=recipient, payload={'what': what, 'language': language}, rule=None, once_at=due_at,
            timezone=timezone, working_days='any', quiet_hours=True, explicit_time=True, next_due=due_at, active=True,
            created_at=created_at, last_error='',
        ))
        moved.append(message_id)
    if moved:
        connection.execute(outbox.delete().where(outbox.c.id.in_(moved)))


def _schedules_to_reminders() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(schedules.c.id, schedules.c.owner_id, schedules.c.payload, schedules.c.once_at)
        .where(schedules.c.kind == 'personal', schedules.c.active.is_(True), schedules.c.once_at.is_not(None), schedules.c.owner_id.is_not(None))
    ).all()
    for schedule_id, owner, payload, once_at in rows:
        what = str((payload or {}).get('what', ''))
        connection.execute(outbox.insert().values(
            recipient_id=owner, payload={'text': f'⏰ {what}', 'kind': 'reminder', 'what': what, 'private': True},
            due_at=once_at, created_at=_now(), status='pending', kind='send', idempotency_key=f'reminder:schedule:{schedule_id}',
            attempts=0, last_error='',
        ))


def downgrade() -> None:
    _schedules_to_reminders()
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_column('low_since')

    op.drop_table('scheduler_leases')
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedules_owner_id'))
        batch_op.drop_index('ix_schedules_due')

    op.drop_table('schedules')
