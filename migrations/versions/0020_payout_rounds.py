"""payouts: later rounds that pay held lines once their hold is resolved

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 07:00:00

A payout line held in a half's file (no account, another holder, no address) stayed held for
good: the member who fixed the cause in the chat, as the held-payment notice asks, was never
paid. core.payouts.release_held now writes a later round of the (half, scope) file with those
lines, and marks the held line `released`. So:
- payout_batches gains `round` (1 for every existing file) and its unique key becomes
  (half, scope, round);
- payout_lines gains `released_at`, and its one-line-per-statement key becomes one current
  (not released) line per statement, a partial unique index on both databases.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

CURRENT = sa.text("status <> 'released'")


def upgrade() -> None:
    with op.batch_alter_table('payout_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('uq_payout_batches_half_scope', type_='unique')
        batch_op.create_unique_constraint('uq_payout_batches_half_scope_round', ['half', 'scope', 'round'])
    with op.batch_alter_table('payout_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint('uq_payout_lines_statement_id', type_='unique')
    op.create_index('uq_payout_lines_statement_current', 'payout_lines', ['statement_id'], unique=True,
                    sqlite_where=CURRENT, postgresql_where=CURRENT)


def downgrade() -> None:
    later = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM payout_batches WHERE round > 1")).scalar()
    if later:  # their lines pay statements whose first line is kept as released
        raise RuntimeError(f"{later} later payout round(s) recorded: one file per (half, scope) cannot hold them")
    op.drop_index('uq_payout_lines_statement_current', table_name='payout_lines')
    with op.batch_alter_table('payout_lines', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_payout_lines_statement_id', ['statement_id'])
        batch_op.drop_column('released_at')
    with op.batch_alter_table('payout_batches', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payout_batches_half_scope_round', type_='unique')
        batch_op.create_unique_constraint('uq_payout_batches_half_scope', ['half', 'scope'])
        batch_op.drop_column('round')
