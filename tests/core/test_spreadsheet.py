"""CSV cells meant for a spreadsheet (core.spreadsheet): no text is read as a formula."""
from __future__ import annotations

import csv
import io

import pytest

from core import spreadsheet


@pytest.mark.parametrize("value,written", [
    ("=1+2", "'=1+2"),
    ('=HYPERLINK("http://x","y")', "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+82 10", "'+82 10"),
    ("-1+1", "'-1+1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-120", "-120"),
    ("+3.5", "+3.5"),
    ("-1,234", "-1,234"),
    ("홍길동", "홍길동"),
    ("a=b", "a=b"),
    ("", ""),
    (-5, -5),
    (None, None),
])
def test_a_cell_that_would_run_as_a_formula_is_text(value, written):
    assert spreadsheet.cell(value) == written


def test_the_writer_writes_every_row_through_cell():
    out = io.StringIO()
    w = spreadsheet.writer(out)
    w.writerow(["=cmd", 1, "ok"])
    w.writerows([["@x", "-7"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=cmd", "1", "ok"], ["'@x", "-7"]]
