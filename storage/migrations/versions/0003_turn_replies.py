"""turn_replies: a retried delivery gets the replies of the turn it repeats

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('seen_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replies', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('chat_id', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('user_id', sa.String(length=100), nullable=False, server_default=''))
        batch_op.drop_constraint('uq_seen_events_platform_event_id', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_seen_events_platform_chat_id_user_id_event_id'), ['platform', 'chat_id', 'user_id', 'event_id']
        )


def downgrade() -> None:
    op.execute("DELETE FROM seen_events")  # ids are kept for days only; the narrower key could not hold them all
    with op.batch_alter_table('seen_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_seen_events_platform_chat_id_user_id_event_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_seen_events_platform_event_id'), ['platform', 'event_id'])
        batch_op.drop_column('user_id')
        batch_op.drop_column('chat_id')
        batch_op.drop_column('replies')
