"""queue and feed indexes: the case queue's filters and sort, feeds by model and organisation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_queue', 'cases', ['org_id', 'status', 'due_at', 'id'], unique=False)
    op.create_index('ix_cases_org_due', 'cases', ['org_id', 'due_at', 'id'], unique=False)
    op.create_index('ix_events_model_position', 'events', ['model_id', 'position'], unique=False)
    op.create_index('ix_events_org_position', 'events', ['org_id', 'position'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_org_position', table_name='events')
    op.drop_index('ix_events_model_position', table_name='events')
    op.drop_index('ix_cases_org_due', table_name='cases')
    op.drop_index('ix_cases_queue', table_name='cases')
