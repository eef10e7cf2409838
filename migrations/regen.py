"""Regenerate the initial migration from the models. Only for a project that has never been
deployed: revision 0001 has landed, so schema changes now get a new revision
(`python -m migrations.new "..."`). Kept for the record of how 0001 was made.

    python -m migrations.regen --i-know-0001-has-not-shipped
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
    import sys

    if "--i-know-0001-has-not-shipped" not in sys.argv:
        raise SystemExit("0001 has shipped: write a new revision with `python -m migrations.new \"...\"`")
    main()
