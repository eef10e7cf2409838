"""Regenerate the initial migration from the models (only while nothing has shipped).

    python -m migrations.regen
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from migrations import HERE, alembic_config

INITIAL = "0001"


def main() -> None:
    for old in (HERE / "versions").glob(f"{INITIAL}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id=INITIAL)
    print("regenerated", *sorted(p.name for p in (HERE / "versions").glob(f"{INITIAL}_*.py")))


if __name__ == "__main__":
    main()
