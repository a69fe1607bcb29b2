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


def downgrade() -> None:
    with op.batch_alter_table('seen_events', schema=None) as batch_op:
        batch_op.drop_column('replies')
