"""meter_readings' key columns compared byte by byte on PostgreSQL (collation "C")

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:40:00

The key (resource, supply_key_hash, company, month) holds codes and hex hashes. Compared by
the database's language rules (its default collation, e.g. ko_KR.UTF-8), every comparison of
a million-reading import's index work went through them; byte order is the same for these
ASCII values and several times cheaper (issue 16). One ALTER TABLE: the key's index is rebuilt
once. SQLite compares bytes already (BINARY): nothing to do there.
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_COLUMNS = (("resource", 16), ("supply_key_hash", 64), ("company", 32))


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    clauses = ", ".join(f'ALTER COLUMN {name} TYPE VARCHAR({length}) COLLATE "{collation}"'
                        for name, length in _COLUMNS)
    op.execute(f"ALTER TABLE meter_readings {clauses}")


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
