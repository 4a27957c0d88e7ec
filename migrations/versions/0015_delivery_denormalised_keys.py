"""deliveries: no foreign keys on the copied subscriber_id and org_id

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 22:30:00

Why: a fan-out writes one row per endpoint in one INSERT ... SELECT, and PostgreSQL checks each
foreign key row by row (locking the referenced row each time). On 10,000 endpoints the four
checks took 235 ms of the insert's 358 ms, before any worker could see a row. `subscriber_id`
and `org_id` are copies, written only by the fan-out from the endpoint's and the event's own
rows (which keep their foreign keys, as do `endpoint_id` and `event_id` here), and subscribers
and organisations are never deleted: their checks guarded nothing.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_constraint('fk_deliveries_subscriber_id_subscribers', type_='foreignkey')
        batch.drop_constraint('fk_deliveries_org_id_organizations', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.create_foreign_key('fk_deliveries_subscriber_id_subscribers', 'subscribers',
                                 ['subscriber_id'], ['id'])
        batch.create_foreign_key('fk_deliveries_org_id_organizations', 'organizations',
                                 ['org_id'], ['id'])
