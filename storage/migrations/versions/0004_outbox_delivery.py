"""outbox_delivery: outbox addresses chat identities, dead letters, live messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MAX_ATTEMPTS = 8  # storage.outbox.MAX_ATTEMPTS when this was written: a message that used them all was given up


def upgrade() -> None:
    op.create_table('live_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_live_messages_employee_id_employees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_messages')),
    sa.UniqueConstraint('platform', 'reference', name=op.f('uq_live_messages_platform_reference'))
    )
    with op.batch_alter_table('live_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_messages_key'), ['key'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('send', 'edit', name='outboxkind', native_enum=False, length=20), nullable=False, server_default='send'))
        batch_op.add_column(sa.Column('status', sa.Enum('pending', 'delivered', 'dead', name='outboxstatus', native_enum=False, length=20), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('live_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('live_message_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('identity_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('platform', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('chat_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_live_key'), ['live_key'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_live_message_id_live_messages'), 'live_messages', ['live_message_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_outbox_identity_id_chat_identities'), 'chat_identities', ['identity_id'], ['id'], ondelete='SET NULL')

    outbox = sa.table('outbox', sa.column('status', sa.String), sa.column('delivered_at', sa.DateTime), sa.column('attempts', sa.Integer))
    op.execute(outbox.update().where(outbox.c.delivered_at.is_not(None)).values(status='delivered'))
    op.execute(outbox.update().where(outbox.c.delivered_at.is_(None), outbox.c.attempts >= MAX_ATTEMPTS).values(status='dead'))


def downgrade() -> None:
    # The older code knows no edits and tells a given-up message only by its attempts.
    outbox = sa.table('outbox', sa.column('kind', sa.String), sa.column('status', sa.String), sa.column('attempts', sa.Integer))
    op.execute(outbox.delete().where(outbox.c.kind == 'edit'))
    op.execute(outbox.update().where(outbox.c.status == 'dead').values(attempts=MAX_ATTEMPTS))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_identity_id_chat_identities'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outbox_live_message_id_live_messages'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_live_key'))
        batch_op.drop_index(batch_op.f('ix_outbox_status'))
        batch_op.drop_column('reference')
        batch_op.drop_column('chat_id')
        batch_op.drop_column('platform')
        batch_op.drop_column('identity_id')
        batch_op.drop_column('live_message_id')
        batch_op.drop_column('live_key')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('status')
        batch_op.drop_column('kind')

    with op.batch_alter_table('live_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_messages_key'))

    op.drop_table('live_messages')
