"""unmatched questions: the operators' queue of what the bot did not understand (issue 14)

Messages masked before they are stored (core.unmatched), grouped by normalised text, kept
UNMATCHED_RETENTION_DAYS.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:08:54.137677
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unmatched_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('normalised', sa.String(length=300), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('guesses', sa.String(length=200), nullable=False),
    sa.Column('local_government_code', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['local_government_code'], ['local_governments.code'], name=op.f('fk_unmatched_questions_local_government_code_local_governments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmatched_questions'))
    )
    with op.batch_alter_table('unmatched_questions', schema=None) as batch_op:
        batch_op.create_index('ix_unmatched_questions_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_unmatched_questions_normalised', ['normalised'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('unmatched_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_unmatched_questions_normalised')
        batch_op.drop_index('ix_unmatched_questions_created_at')

    op.drop_table('unmatched_questions')
