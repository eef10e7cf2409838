"""members: an index of the member number without its hyphens

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:20:00

Citizens linking KakaoTalk type the registry's member number as they read it: GG-2019-000123,
GG 2019 000123 or GG2019000123. The chat looks it up without hyphens or spaces
(core.member_link.member_no_key); this expression index keeps that one indexed read on both
databases.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_member_no_key", "members", [sa.text("replace(member_no, '-', '')")])


def downgrade() -> None:
    op.drop_index("ix_members_member_no_key", table_name="members")
