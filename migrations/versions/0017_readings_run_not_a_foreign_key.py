"""meter_readings.import_run_id without a foreign key

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:05:49.213358

PostgreSQL checks a foreign key with a trigger a row: in a million-reading import the check
cost more than inserting the readings (issue 16). The column stays (the run that last wrote
the reading); only the import writes it, in the transaction that writes its run, and import
runs are never deleted. SQLite recreates the table (batch mode) and keeps it WITHOUT ROWID.
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_SQLITE = {"sqlite_with_rowid": False}


def upgrade() -> None:
    with op.batch_alter_table('meter_readings', schema=None, table_kwargs=_SQLITE) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_meter_readings_import_run_id_import_runs'), type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('meter_readings', schema=None, table_kwargs=_SQLITE) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_meter_readings_import_run_id_import_runs'), 'import_runs',
                                    ['import_run_id'], ['id'])
