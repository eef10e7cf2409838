"""utility companies: supply points keyed by resource, company and number

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:03:02.806282

Data: every account with a customer number gets the default company of its member's 시·군·구 and
resource (core.utility_companies.default_company: the shipped list at upgrade time; KEPCO for
electricity, the 시·군·구's waterworks for water, the region's first city-gas company for gas). A
complex unit's account keeps "" (its unit key is unique by itself). Readings take the company of
the account holding their supply point (the active one, else the latest); readings nobody ever
registered take the national company when there is one (electricity), else "" (adopted by the
member who registers the number, core.members.adopt_unassigned_readings).
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from core.utility_companies import default_company, national_company

    with op.batch_alter_table('resource_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company', sa.String(length=32), server_default='', nullable=False))
        batch_op.drop_index('uq_resource_accounts_active_supply', sqlite_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'), postgresql_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'))

    conn = op.get_bind()
    pairs = conn.execute(sa.text(
        "SELECT DISTINCT a.resource, m.local_government_code FROM resource_accounts a"
        " JOIN members m ON m.id = a.member_id"
        " WHERE a.supply_key_hash IS NOT NULL AND a.complex_code IS NULL")).all()
    for resource, lg in pairs:
        company = default_company(resource, lg)
        if not company:
            continue
        lg_test = "m.local_government_code = :lg" if lg is not None else "m.local_government_code IS NULL"
        conn.execute(sa.text(
            "UPDATE resource_accounts SET company = :company WHERE resource = :resource"
            " AND supply_key_hash IS NOT NULL AND complex_code IS NULL"
            f" AND member_id IN (SELECT m.id FROM members m WHERE {lg_test})"),
            {"company": company, "resource": resource, "lg": lg})

    with op.batch_alter_table('resource_accounts', schema=None) as batch_op:
        batch_op.create_index('uq_resource_accounts_active_supply', ['resource', 'company', 'supply_key_hash'], unique=True, sqlite_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'), postgresql_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'))

    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company', sa.String(length=32), server_default='', nullable=False))
    conn.execute(sa.text(
        "UPDATE meter_readings SET company = COALESCE((SELECT a.company FROM resource_accounts a"
        " WHERE a.resource = meter_readings.resource AND a.supply_key_hash = meter_readings.supply_key_hash"
        " ORDER BY CASE WHEN a.ended_on IS NULL THEN 0 ELSE 1 END, a.id DESC LIMIT 1), '')"))
    for resource in [r for (r,) in conn.execute(sa.text("SELECT DISTINCT resource FROM meter_readings"))]:
        national = national_company(resource)
        if national:
            conn.execute(sa.text("UPDATE meter_readings SET company = :c WHERE resource = :r AND company = ''"
                                 " AND NOT EXISTS (SELECT 1 FROM resource_accounts a WHERE a.resource = :r"
                                 " AND a.supply_key_hash = meter_readings.supply_key_hash)"),
                         {"c": national, "r": resource})
    with op.batch_alter_table('meter_readings', schema=None, recreate='always',
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.drop_constraint('pk_meter_readings', type_='primary')
        batch_op.create_primary_key('pk_meter_readings', ['resource', 'supply_key_hash', 'company', 'month'])


def downgrade() -> None:
    conn = op.get_bind()
    # One reading per (resource, number, month) again: the first company's is kept.
    conn.execute(sa.text(
        "DELETE FROM meter_readings WHERE company <> (SELECT MIN(r.company) FROM meter_readings r"
        " WHERE r.resource = meter_readings.resource AND r.supply_key_hash = meter_readings.supply_key_hash"
        " AND r.month = meter_readings.month)"))
    with op.batch_alter_table('meter_readings', schema=None, recreate='always',
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.drop_constraint('pk_meter_readings', type_='primary')
        batch_op.create_primary_key('pk_meter_readings', ['resource', 'supply_key_hash', 'month'])
        batch_op.drop_column('company')
    with op.batch_alter_table('resource_accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_resource_accounts_active_supply', sqlite_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'), postgresql_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'))
        batch_op.create_index('uq_resource_accounts_active_supply', ['resource', 'supply_key_hash'], unique=True, sqlite_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'), postgresql_where=sa.text('ended_on IS NULL AND supply_key_hash IS NOT NULL'))
        batch_op.drop_column('company')
