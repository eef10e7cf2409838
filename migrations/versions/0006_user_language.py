"""user language

Issue 14: the language a citizen chose for the chat ("English" / "한국어"), kept on the dialog
state row the turn already reads (NULL: the default, Korean).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:03:40.372110
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dialog_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lang', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dialog_states', schema=None) as batch_op:
        batch_op.drop_column('lang')
