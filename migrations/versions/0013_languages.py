"""languages: staff users and re-users (subscribers) choose the language of their pages and
emails

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30 09:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A server default fills the existing rows: everyone spoke English until now.
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=False,
                                   server_default='en'))
    with op.batch_alter_table('subscribers') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=False,
                                   server_default='en'))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
