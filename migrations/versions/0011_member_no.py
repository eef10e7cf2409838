"""member registry number

Revision ID: 0008_member_no
Revises: 0007
Create Date: 2026-12-06 18:10:13.952130
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: a batch (table copy) on SQLite would break the
    # reference triggers that name `members`.
    op.add_column('members', sa.Column('member_no', sa.String(length=20), nullable=True))
    op.create_index(op.f('ix_members_member_no'), 'members', ['member_no'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_members_member_no'), table_name='members')
    op.drop_column('members', 'member_no')
