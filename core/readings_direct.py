"""PostgreSQL: a readings file's rows written straight into meter_readings while the file is
still read, instead of staged first and inserted after.

With one COPY held open into meter_readings, the server fills the table and its key's index
on its own CPU while Python reads and checks the next rows. Staged, the two ran one after the
other: the insert from the staging table (a sort and a million index entries) was over half of
a million-reading import.

It gives the staged path's result whenever every row of the file is a new (supply point,
month): a first import, and each month's file of new months. What cannot be decided while the
file is read falls back: the caller rolls back to a savepoint and reads the file again the
staged way (core.usage_import.read_readings). That is
- a (supply point, month) already in meter_readings or twice in the file: the key refuses the
  row (an update to audit, or a duplicate to settle). The first rows' months are looked up
  before anything is written, so a file sent again falls back at once; a month repeated later
  in the file is refused by the key, which the driver reports when the COPY ends;
- a number two companies bill (its rows are refused, naming them);
- a supply point past the id maps' bounded memory (PointIds), or very many outlier flags.
The rows are sent as COPY's text, formatted here from checked values (see _UNSAFE), through the
driver's queued writer (core.usage_import.StagedFile: a thread of the driver sends them).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

# The rows' columns in meter_readings, in the COPY's order.
DIRECT_COLUMNS = ("resource", "supply_key_hash", "company", "month", "amount", "tariff", "import_run_id",
                  "updated_at")
FIRST_HELD = 5_000    # the first rows held (the server starts sooner), then ...
ROWS_HELD = 50_000    # rows held while their supply points' companies are looked up, ...
POINTS_HELD = 2_000   # ... or fewer when this many new supply points wait (one query for them)
FLAGS_HELD = 100_000  # outlier flags kept in memory (more: the staged path flags them in SQL)
KEYS_KEPT = 400_000   # supply points whose key a later row may name (two PointIds generations)
PROBE_EVERY = 50      # after the first batch, one row in this many is looked up before it is sent
NULL = "\\N"  # COPY text's NULL
# What COPY's text or the lookups' lists could not carry as it is: not printable ASCII, a space
# (the lists' separator) or a backslash (COPY's escape). The supply points' columns are checked
# against it here; months are integers, and amounts and tariffs were checked by the import's
# checkers (core.usage_import.UsageChecker, core.unit_readings.UnitChecker).
_UNSAFE = re.compile(r"[^\x21-\x5b\x5d-\x7e]")


class DirectFallback(Exception):
    """The file needs the staged path (see the module's docstring)."""


class DirectWriter:
    """The direct path's bookkeeping for one pass over a file: the supply points' keys by id,
    their companies looked up in batches on a connection of their own, the rows converted for
    the COPY, and the outlier flags for import_changes.

    ``resolve``: whether a supply point without a company (the file named none and no single
    company supplies the resource) takes the one company its number already has, as
    core.usage_import.resolve_companies does for the staged rows. The lookup reads committed
    rows only, which is what resolve_companies sees too: nothing of the file is in
    meter_readings before it runs."""

    def __init__(self, engine: Engine, run_id: int, now: datetime, *, resolve: bool) -> None:
        self.engine, self.resolve = engine, resolve
        # as COPY's text: formatting a datetime a row costs more than the rest of the row
        self.run_id, self.now = str(run_id), now.isoformat(sep=" ")
        self.pending: list[tuple] = []
        # a supply point's id -> (its columns' COPY text, resource, key hash, company)
        self.keys: dict[int, tuple[str, str, str, str]] = {}
        self.old_keys: dict[int, tuple[str, str, str, str]] = {}
        self.seen = 0  # points.new entries looked at
        self.written = 0
        self.flags: list[tuple[str, str, str]] = []  # (key as _SQL_KEY writes it, bound, amount)
        self._lookup: Any = None

    def take(self, batch: Sequence[tuple], new_points: list[tuple]) -> str:
        """Staging rows (line, point, month, amount, tariff, bound) in; the COPY's text of the
        rows ready out ("" while the batch waits for its points' companies)."""
        self.pending.extend(batch)
        held = ROWS_HELD if self.written else FIRST_HELD
        if len(self.pending) < held and len(new_points) - self.seen < POINTS_HELD:
            return ""
        return self.drain(new_points)

    def drain(self, new_points: list[tuple]) -> str:
        """The pending rows as COPY text (formatted here: the driver's row formatting cost more
        than the rest of the import's Python; every value is checked ASCII without tabs,
        newlines or backslashes, see settle)."""
        self.settle(new_points)
        keys, old, flags = self.keys, self.old_keys, self.flags
        # A file sent again, or correcting months: the key would refuse a row anyway, but only
        # when the COPY ends, the whole file read. Looked up before the rows are sent: every
        # row of the first batch, then a sample of each (a month corrected here and there is
        # left to the key).
        step = 1 if not self.written else PROBE_EVERY
        end = f"\t{self.run_id}\t{self.now}\n"
        out, probe = [], []
        for i, (_line, pid, month, amount, tariff, bound) in enumerate(self.pending):
            key = keys.get(pid) or old.get(pid)
            if key is None:
                raise DirectFallback("a supply point past the id maps")
            out.append(f"{key[0]}{month}\t{amount}\t{tariff or NULL}{end}")
            if i % step == 0:
                probe.append((key, month))
            if bound is not None:
                flags.append((f"{key[1]}:{key[3]}:{key[2]}:{month}", bound, amount))
        if len(flags) > FLAGS_HELD:
            raise DirectFallback("too many outlier flags")
        if self._any_there(probe):
            raise DirectFallback("months already in meter_readings")
        self.pending = []
        self.written += len(out)
        return "".join(out)

    def settle(self, new_points: list[tuple]) -> None:
        """Give every supply point met since the last call its company (in place in
        ``new_points``, PointIds.new: tmp_usage_points is written from it) and remember its key."""
        fresh = range(self.seen, len(new_points))
        self.seen = len(new_points)
        asked = [i for i in fresh if self.resolve and new_points[i][3] == ""]
        if asked:
            found = self._companies([new_points[i][1] for i in asked], [new_points[i][2] for i in asked])
            for i in asked:
                pid, resource, hashed, _, masked = new_points[i]
                companies = found.get((resource, hashed))
                if companies:
                    if len(companies) > 1:
                        raise DirectFallback("a number two companies bill")
                    new_points[i] = (pid, resource, hashed, next(iter(companies)), masked)
        if len(self.keys) >= KEYS_KEPT // 2:
            self.old_keys, self.keys = self.keys, {}
        keys = self.keys
        for i in fresh:
            pid, resource, hashed, company, _ = new_points[i]
            prefix = f"{resource}\t{hashed}\t{company}\t"
            if _UNSAFE.search(f"{resource}{hashed}{company}"):
                raise DirectFallback("a value COPY's text would have to escape")
            keys[pid] = (prefix, resource, hashed, company)

    def points_written(self) -> None:
        """PointIds.new was written out and emptied."""
        self.seen = 0

    def _connection(self) -> Any:
        """The lookups' own connection (committed rows only: see the class)."""
        if self._lookup is None:
            self._lookup = self.engine.connect()
            # The planner takes meter_readings by its statistics, which know nothing of the
            # rows the import is adding: a scan would read every one of them. Probes of the
            # key's index it is, without compiling them (the scans' cost would start the JIT).
            self._lookup.exec_driver_sql("SET enable_seqscan = off")
            self._lookup.exec_driver_sql("SET jit = off")
            self._lookup.commit()
        return self._lookup

    def _any_there(self, rows: list[tuple[tuple[str, str, str, str], int]]) -> bool:
        """Is any of these (supply point's key, month) in meter_readings already?"""
        conn = self._connection()
        there = conn.execute(text(
            "SELECT 1 FROM unnest(string_to_array(:r, ' '), string_to_array(:h, ' '),"
            " string_to_array(:c, ' '), CAST(string_to_array(:m, ' ') AS int[]))"
            " AS k(resource, hash, company, month) JOIN meter_readings m ON m.resource = k.resource"
            " AND m.supply_key_hash = k.hash AND m.company = substr(k.company, 2) AND m.month = k.month LIMIT 1"),
            {"r": _listed(k[1] for k, _ in rows), "h": _listed(k[2] for k, _ in rows),
             "c": _listed(f"={k[3]}" for k, _ in rows), "m": _listed(str(m) for _, m in rows)}).first() is not None
        conn.rollback()
        return there

    def _companies(self, resources: list[str], hashes: list[str]) -> dict[tuple[str, str], set[str]]:
        """(resource, key hash) -> the companies the number is a supply point of (registered
        accounts, ended ones too, and readings), for the given supply points."""
        conn = self._connection()
        found: dict[tuple[str, str], set[str]] = {}
        asked = set(zip(resources, hashes))
        for resource, hashed, company in conn.execute(text(
                "SELECT resource, supply_key_hash, company FROM resource_accounts"
                " WHERE supply_key_hash = ANY(string_to_array(:hs, ' ')) AND company <> ''"
                " UNION SELECT k.resource, k.hash, m.company"
                " FROM unnest(string_to_array(:r, ' '), string_to_array(:hs, ' ')) AS k(resource, hash)"
                " JOIN meter_readings m ON m.resource = k.resource AND m.supply_key_hash = k.hash"
                " WHERE m.company <> ''"), {"r": _listed(resources), "hs": _listed(hashes)}):
            if (resource, hashed) in asked:
                found.setdefault((resource, hashed), set()).add(company)
        conn.rollback()
        return found

    def close(self) -> None:
        if self._lookup is not None:
            self._lookup.exec_driver_sql("RESET enable_seqscan")
            self._lookup.exec_driver_sql("RESET jit")
            self._lookup.commit()
            self._lookup.close()
            self._lookup = None


def _listed(values) -> str:
    """Values for string_to_array(..., ' '): one text parameter instead of an array of many
    (the driver's array dumping cost more than the lookup). A company may be "": the list
    is written "=" + company (string_to_array('', ' ') is no element, not one)."""
    return " ".join(values)
