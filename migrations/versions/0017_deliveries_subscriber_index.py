"""deliveries: no index of its own on `subscriber_id` (a re-user's deliveries are found
through its endpoints' index)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 08:10:00

Why, measured on PostgreSQL 15: `subscriber_id` is a random UUID, so each of a fan-out's rows
lands on a different page of its index, and again when the result is recorded (a status change
rewrites every index entry of the row). For 10,000 endpoints that index cost 10-12 ms of the
event's own transaction (64 ms in all, before any worker sees a row) and as much again while
recording. A delivery's `subscriber_id` is always its endpoint's (copied at the fan-out, an
endpoint test or a replay; endpoints are never deleted, only marked removed), and a re-user has
a handful of endpoints: `endpoint_id IN (its endpoints)` finds the same rows through the
endpoint index (app/delivery/service.py). The column stays.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_index('ix_deliveries_subscriber_id')


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.create_index('ix_deliveries_subscriber_id', ['subscriber_id'], unique=False)
