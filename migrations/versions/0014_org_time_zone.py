"""org time zone: deadlines end with a local day of the organisation's IANA time zone

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-30 11:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing organisations keep the UTC calendar their deadlines were computed on.
    with op.batch_alter_table('organizations') as batch:
        batch.add_column(sa.Column('time_zone', sa.String(length=64), nullable=False,
                                   server_default='UTC'))


def downgrade() -> None:
    with op.batch_alter_table('organizations') as batch:
        batch.drop_column('time_zone')
