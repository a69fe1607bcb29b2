"""identities: Slack workspace, private-chat address and reachability of each chat identity

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 09:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chat_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('private_address', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('unreachable_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('unreachable_reason', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('linked_at', sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()))


def downgrade() -> None:
    with op.batch_alter_table('chat_identities', schema=None) as batch_op:
        batch_op.drop_column('linked_at')
        batch_op.drop_column('unreachable_reason')
        batch_op.drop_column('unreachable_at')
        batch_op.drop_column('private_address')
        batch_op.drop_column('team_id')
