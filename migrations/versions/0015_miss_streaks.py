"""miss streaks

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 20:38:02.420579
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('miss_streaks',
    sa.Column('user_key', sa.String(length=80), nullable=False),
    sa.Column('turns', sa.Integer(), nullable=False),
    sa.Column('asked', sa.String(length=400), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_key', name=op.f('pk_miss_streaks')),
    sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('miss_streaks')
