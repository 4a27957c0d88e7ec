"""cases worked: assignment, decisions, deadline reminders, closure evidence, remediations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('remediations',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('model_id', sa.Uuid(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('affected_version_ids', sa.JSON(), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_remediations_model_id_models')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_remediations_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remediations'))
    )
    with op.batch_alter_table('remediations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remediations_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remediations_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remediations_status'), ['status'], unique=False)

    op.create_table('case_reminders',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_reminders_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', 'day', name=op.f('pk_case_reminders'))
    )
    with op.batch_alter_table('case_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_reminders_day'), ['day'], unique=False)

    op.create_table('remediation_cases',
    sa.Column('remediation_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_remediation_cases_case_id_cases')),
    sa.ForeignKeyConstraint(['remediation_id'], ['remediations.id'], name=op.f('fk_remediation_cases_remediation_id_remediations')),
    sa.PrimaryKeyConstraint('remediation_id', 'case_id', name=op.f('pk_remediation_cases'))
    )
    with op.batch_alter_table('remediation_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remediation_cases_case_id'), ['case_id'], unique=False)

    # Rows written before kinds existed: the subject's messages were answers, the rest questions.
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='question'))
    op.execute("UPDATE case_messages SET kind = 'answer' WHERE direction = 'from_subject'")
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('extension_months', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('decision_ground', sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('closure_evidence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('row_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_index(batch_op.f('ix_cases_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_id_users'), 'users', ['assignee_id'], ['id'])

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('row_version', server_default=None)

    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remediation_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_model_versions_remediation_id'), ['remediation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_model_versions_remediation_id_remediations'), 'remediations', ['remediation_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_model_versions_remediation_id_remediations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_model_versions_remediation_id'))
        batch_op.drop_column('remediation_id')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_assignee_id'))
        batch_op.drop_column('row_version')
        batch_op.drop_column('closure_evidence')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decision_ground')
        batch_op.drop_column('decision')
        batch_op.drop_column('extension_months')
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('remediation_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remediation_cases_case_id'))

    op.drop_table('remediation_cases')
    with op.batch_alter_table('case_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_reminders_day'))

    op.drop_table('case_reminders')
    with op.batch_alter_table('remediations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remediations_status'))
        batch_op.drop_index(batch_op.f('ix_remediations_org_id'))
        batch_op.drop_index(batch_op.f('ix_remediations_model_id'))

    op.drop_table('remediations')
