"""meter readings carry the tariff the month was billed under (spec E5)

Revision ID: 0008_reading_tariffs
Revises: 0007
Create Date: 2026-12-06 18:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tariff', sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_column('tariff')
