"""green-life membership of its own: greenlife_members; activities and awards repointed to it

For each energy member with green-life activities or awards a green-life membership is created
(linked by member_id, status carried over, age taken as confirmed: the rows were accepted under
the energy membership), and the rows are repointed to it.

Revision ID: 0008_greenlife_members
Revises: 0007
Create Date: 2026-12-06 18:08:48.904067
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TABLES = ('greenlife_activities', 'greenlife_awards')


def upgrade() -> None:
    op.create_table('greenlife_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('bot_user_key', sa.String(length=80), nullable=True),
    sa.Column('app_user_id', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('mobile_enc', sa.Text(), nullable=True),
    sa.Column('mobile_hash', sa.String(length=64), nullable=True),
    sa.Column('sido', sa.String(length=32), nullable=True),
    sa.Column('local_government_code', sa.String(length=16), nullable=True),
    sa.Column('seoul', sa.Boolean(), nullable=False),
    sa.Column('age_confirmed', sa.Boolean(), nullable=False),
    sa.Column('payout_method', sa.String(length=24), nullable=True),
    sa.Column('bank_name', sa.String(length=40), nullable=True),
    sa.Column('account_number_enc', sa.Text(), nullable=True),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_greenlife_members_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_greenlife_members')),
    sa.UniqueConstraint('bot_user_key', name=op.f('uq_greenlife_members_bot_user_key')),
    sa.UniqueConstraint('member_id', name=op.f('uq_greenlife_members_member_id'))
    )
    with op.batch_alter_table('greenlife_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_greenlife_members_app_user_id'), ['app_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_greenlife_members_mobile_hash'), ['mobile_hash'], unique=False)

    # One green-life membership per energy member that has green-life rows.
    op.execute(sa.text(
        "INSERT INTO greenlife_members (status, member_id, seoul, age_confirmed, joined_at, updated_at,"
        " withdrawn_at) SELECT CASE WHEN m.status = 'active' THEN 'active' ELSE 'withdrawn' END, m.id,"
        " :false, :true, m.joined_at, m.joined_at, m.withdrawn_at FROM members m WHERE m.id IN"
        " (SELECT member_id FROM greenlife_activities UNION SELECT member_id FROM greenlife_awards)"
        " ORDER BY m.id").bindparams(false=False, true=True))
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('greenlife_member_id', sa.Integer(), nullable=True))
        op.execute(sa.text(
            f"UPDATE {table} SET greenlife_member_id = (SELECT g.id FROM greenlife_members g"
            f" WHERE g.member_id = {table}.member_id)"))

    with op.batch_alter_table('greenlife_activities', schema=None) as batch_op:
        batch_op.alter_column('greenlife_member_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_greenlife_activities_month_member'))
        batch_op.create_index('ix_greenlife_activities_month_member', ['month', 'greenlife_member_id'], unique=False)
        batch_op.drop_constraint(batch_op.f('uq_greenlife_activities_key'), type_='unique')
        batch_op.create_unique_constraint('uq_greenlife_activities_key', ['greenlife_member_id', 'item', 'activity_date', 'partner_ref'])
        batch_op.drop_constraint(batch_op.f('fk_greenlife_activities_member_id_members'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_greenlife_activities_greenlife_member_id_greenlife_members'), 'greenlife_members', ['greenlife_member_id'], ['id'])
        batch_op.drop_column('member_id')

    with op.batch_alter_table('greenlife_awards', schema=None) as batch_op:
        batch_op.alter_column('greenlife_member_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_greenlife_awards_member_year'))
        batch_op.create_index('ix_greenlife_awards_member_year', ['greenlife_member_id', 'year'], unique=False)
        batch_op.drop_constraint(batch_op.f('uq_greenlife_awards_member_month'), type_='unique')
        batch_op.create_unique_constraint('uq_greenlife_awards_member_month', ['greenlife_member_id', 'month'])
        batch_op.drop_constraint(batch_op.f('fk_greenlife_awards_member_id_members'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_greenlife_awards_greenlife_member_id_greenlife_members'), 'greenlife_members', ['greenlife_member_id'], ['id'])
        batch_op.drop_column('member_id')


def downgrade() -> None:
    # Rows of green-life members without an energy membership cannot go back: they are dropped.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('member_id', sa.Integer(), nullable=True))
        op.execute(sa.text(
            f"UPDATE {table} SET member_id = (SELECT g.member_id FROM greenlife_members g"
            f" WHERE g.id = {table}.greenlife_member_id)"))
        op.execute(sa.text(f"DELETE FROM {table} WHERE member_id IS NULL"))

    with op.batch_alter_table('greenlife_awards', schema=None) as batch_op:
        batch_op.alter_column('member_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_greenlife_awards_greenlife_member_id_greenlife_members'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_greenlife_awards_member_id_members'), 'members', ['member_id'], ['id'])
        batch_op.drop_constraint('uq_greenlife_awards_member_month', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_greenlife_awards_member_month'), ['member_id', 'month'])
        batch_op.drop_index('ix_greenlife_awards_member_year')
        batch_op.create_index(batch_op.f('ix_greenlife_awards_member_year'), ['member_id', 'year'], unique=False)
        batch_op.drop_column('greenlife_member_id')

    with op.batch_alter_table('greenlife_activities', schema=None) as batch_op:
        batch_op.alter_column('member_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_greenlife_activities_greenlife_member_id_greenlife_members'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_greenlife_activities_member_id_members'), 'members', ['member_id'], ['id'])
        batch_op.drop_constraint('uq_greenlife_activities_key', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_greenlife_activities_key'), ['member_id', 'item', 'activity_date', 'partner_ref'])
        batch_op.drop_index('ix_greenlife_activities_month_member')
        batch_op.create_index(batch_op.f('ix_greenlife_activities_month_member'), ['month', 'member_id'], unique=False)
        batch_op.drop_column('greenlife_member_id')

    with op.batch_alter_table('greenlife_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_greenlife_members_mobile_hash'))
        batch_op.drop_index(batch_op.f('ix_greenlife_members_app_user_id'))

    op.drop_table('greenlife_members')
