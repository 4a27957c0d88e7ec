"""webhook endpoints: the last success is read from the deliveries, not written on the endpoint

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 08:25:00

Why, measured on PostgreSQL 15: recording a batch of successes also rewrote each endpoint's
`last_success_at` when it was older than a minute, which in practice is every endpoint of every
fan-out (an organisation's events are further apart than that): 6-7 us of server time per
endpoint, 0.35-0.6 s of a 100,000-endpoint fan-out, on the path every result takes. A
delivery's `succeeded_at` holds the same instant (both were the batch's time), so the
endpoint's last success is the latest of its deliveries': `ix_deliveries_endpoint_success`
(`endpoint_id`, `succeeded_at`) replaces the endpoint index and answers it with one index
lookup per endpoint (app/subscribers/service.py `last_successes`).

What is left of an endpoint's health in a batch of successes is ending a failing spell, for
the few endpoints failing: `ix_webhook_endpoints_failing` (partial: failing ones only) finds
them instead of the batch's 500 endpoints being looked up (or the table scanned: 1 ms a batch
at 10,000 endpoints).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_index('ix_deliveries_endpoint_id')
        batch.create_index('ix_deliveries_endpoint_success', ['endpoint_id', 'succeeded_at'],
                           unique=False)
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.drop_column('last_success_at')
        batch.create_index('ix_webhook_endpoints_failing', ['failing_since'], unique=False,
                           sqlite_where=sa.text('failing_since IS NOT NULL'),
                           postgresql_where=sa.text('failing_since IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.drop_index('ix_webhook_endpoints_failing')
        batch.add_column(sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE webhook_endpoints SET last_success_at = (SELECT max(d.succeeded_at) "
               "FROM deliveries d WHERE d.endpoint_id = webhook_endpoints.id)")
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_index('ix_deliveries_endpoint_success')
        batch.create_index('ix_deliveries_endpoint_id', ['endpoint_id'], unique=False)
