"""Cells of the CSV files operators open in a spreadsheet.

Excel and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula,
and a tab or carriage return first hides what follows. Several exports carry text that citizens
typed (the unmatched questions) or that came from outside files (rejected lines), so a
citizen could plant ``=HYPERLINK(...)`` that runs on an operator's desk (OWASP "CSV injection").
Such a text cell is written with a leading apostrophe, which spreadsheets show as plain text.
Numbers, and text that reads as a plain number (``-120``), are left as they are.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?")


def cell(value: Any) -> Any:
    """A value as it may be written to a CSV file meant for a spreadsheet."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose rows are written through :func:`cell`."""

    def __init__(self, fh, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fh, **kwargs: Any) -> SafeWriter:
    """A CSV writer for files operators open in a spreadsheet."""
    return SafeWriter(fh, **kwargs)
