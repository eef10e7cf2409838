from __future__ import annotations

from alembic import context

import core.models  # noqa: F401  (registers every table)
from core.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table and drops the old one: with foreign keys enforced, a table
            # other rows refer to (payout_batches) could not be dropped. Off for the migration (a
            # no-op inside a transaction, so before it), then every reference is checked.
            # on the driver: through SQLAlchemy the pragma would run inside core.db's BEGIN
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            raw = connection.connection.driver_connection
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            raw.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"the migration left rows referring to missing rows: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
