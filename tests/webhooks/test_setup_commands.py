"""Operator setup commands: loading local governments."""
from __future__ import annotations

from sqlalchemy import func, select

from core.models import LocalGovernment


def count(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(LocalGovernment))


def test_built_in_list_loads_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["cpoint", "load-local-governments"])
    assert first.exit_code == 0, first.output
    n = count(db)
    assert n >= 4 and f"{n} new" in first.output
    again = runner.invoke(args=["cpoint", "load-local-governments"])
    assert again.exit_code == 0 and "0 new, 0 updated" in again.output
    assert count(db) == n


def test_bad_file_is_rejected_with_line_numbers_and_nothing_written(app, db, tmp_path):
    from pathlib import Path

    good = Path("core/data/local_governments.csv").read_text(encoding="utf-8")
    lines = good.splitlines()
    data_rows = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    broken = list(lines)
    broken[data_rows[1]] = "not,a,valid,row"
    path = tmp_path / "lgs.csv"
    path.write_text("\n".join(broken), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["cpoint", "load-local-governments", str(path)])
    assert result.exit_code == 2
    assert f"line {data_rows[1] + 1}" in result.output and "nothing was written" in result.output
    assert count(db) == 0


def test_a_file_saved_by_korean_excel_loads_with_encoding_cp949(app, db, tmp_path):
    from pathlib import Path

    path = tmp_path / "lgs949.csv"
    path.write_bytes(Path("core/data/local_governments.csv").read_text(encoding="utf-8").encode("cp949"))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["cpoint", "load-local-governments", str(path)])
    assert refused.exit_code == 2 and "run again with --encoding cp949" in refused.output
    assert count(db) == 0
    loaded = runner.invoke(args=["cpoint", "load-local-governments", "--encoding", "cp949", str(path)])
    assert loaded.exit_code == 0, loaded.output
    assert count(db) > 0
