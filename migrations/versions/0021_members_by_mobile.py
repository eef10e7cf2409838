"""members: an index of the mobile number

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 07:10:00

Operators find the member a citizen calls about by the mobile number the citizen gives
(core.operator_views.search_members, the member page); this index keeps it one read.
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_mobile", "members", ["mobile"])


def downgrade() -> None:
    op.drop_index("ix_members_mobile", table_name="members")
