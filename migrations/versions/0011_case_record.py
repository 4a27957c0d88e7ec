"""a case record a supervisory authority would accept: stall flags, sealed free text in the
audit trail, grounds, restriction, intake notices, time zones, signed checkpoints

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stalled_flagged_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('extension_reason_sealed', sa.LargeBinary(),
                                      nullable=True))
        batch_op.add_column(sa.Column('objection_basis', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('restricted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('restriction_remediation_id', sa.Uuid(), nullable=True))
    # Objections filed before the basis was asked for were all about the person's situation.
    op.execute("UPDATE cases SET objection_basis = 'particular_situation' "
               "WHERE kind = 'objection'")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_sealed', sa.LargeBinary(), nullable=True))


    op.create_table('audit_checkpoints',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_audit_checkpoints_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('org_id', 'seq', name=op.f('uq_audit_checkpoints_org_id_seq'))
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoints_org_id'), ['org_id'], unique=False)
    op.create_table('privacy_notices',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_privacy_notices_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_privacy_notices'))
    )


def downgrade() -> None:
    op.drop_table('privacy_notices')
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoints_org_id'))
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('note_sealed')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('restriction_remediation_id')
        batch_op.drop_column('restricted_at')
        batch_op.drop_column('objection_basis')
        batch_op.drop_column('extension_reason_sealed')
        batch_op.drop_column('stalled_flagged_at')
