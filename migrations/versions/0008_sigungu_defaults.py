"""local governments: figures_default (the shipped list's documented defaults)

Revision ID: 0008_sigungu_defaults
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('local_governments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('figures_default', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('local_governments', schema=None) as batch_op:
        batch_op.drop_column('figures_default')
