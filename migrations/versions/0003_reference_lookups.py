"""reference checks look up by the key's first column

The trigger functions of core.models.references are replaced: a lookup compares the first key
column with "=" and the others with IS NOT DISTINCT FROM, so it always walks the key's unique
index. Before, while point_statements had no statistics, the planner could look every statement
line up through ix_point_statements_half_lg and read the whole half for each line.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 22:45:26.474351
"""
from alembic import op

from core.models import references


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    references.install(op.get_bind())  # CREATE OR REPLACE; the triggers are recreated alike


def downgrade() -> None:
    # Nothing to undo: the checks are the same either way, only how they look rows up changed
    # (0002's downgrade drops the functions, cpoint_ref_match included).
    pass
