"""push preferences (members) and monthly push budgets per scope

Revision ID: 0008_push_preferences
Revises: 0007
Create Date: 2026-12-06 18:10:34.371992
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('push_budgets',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('month_won', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_push_budgets'))
    )

    # Plain ADD COLUMN (SQLite's batch mode would copy the table and break the reference
    # triggers that name members).
    for name in ('push_monthly_off', 'push_reminders_off', 'greenlife_digest'):
        op.add_column('members', sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    for name in ('greenlife_digest', 'push_reminders_off', 'push_monthly_off'):
        op.drop_column('members', name)
    op.drop_table('push_budgets')
