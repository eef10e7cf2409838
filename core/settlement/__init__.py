"""Half-year settlement: `flask --app webhooks cpoint settle --half 2026H1` (spec §5-§8).

For every member and registered resource of a half: baseline, actual, reduction rate, band,
points and the reason when nothing is paid; one statement per (member, half) with its lines; the
points written to the append-only ledger (core.ledger).

How it runs (set-based; no ORM object per member), module by module:

1. ``run``: a ``settlement_runs`` row marks the run ``running`` (one per half at a time; a
   stale one is taken over); :func:`settle_half` is the entry point.
2. ``staging``: one aggregate query fills a temporary table with one compact row per member
   resource (six actual months and the same months one and two years before, in integer
   thousandths, plus what the line needs: member type, 시군구, tariff, registration, streak).
3. ``staging.group_sums``: the standard-usage groups (n, Σ A_H per 시군구 / 시도 / nation,
   points table and resource) summed in SQL, checked at the end against the evaluations of the
   lines, so a group can never disagree with the lines.
4. ``workers``: member ranges side by side (forked processes), each in member chunks (one
   transaction each), by one of two executions:
   - SQLite, ``python_engine``: awards, caps and won computed on tuples (``line_for``),
     compared with the stored statement by a fingerprint of the inputs; only new or changed
     statements are written (``write``) with bulk inserts (core.db_bulk).
   - PostgreSQL, ``sql_engine``: every line and statement computed in SQL from the staging
     table; new statements, lines and ledger entries inserted with one ``INSERT ... SELECT``
     per chunk; sampled members are read back and must equal line_for's result and fingerprint.
   New: statement + lines + a ``settlement`` ledger entry. Changed (both executions, in
   Python): the old version goes to ``statement_revisions``, statement and lines are replaced,
   and one ``adjustment`` entry carries the delta. Unchanged: nothing is written, so a second
   run is a no-op and a crashed run resumes where it stopped.
5. ``verification``: ``verify`` members per run (spread over the members) are recomputed with
   ``core.points.award.compute_statement`` from the same readings; any difference aborts the
   run. The pure functions stay the specification; this package is their set-based execution.

Supported settings: baseline_mode ``rolling`` and baseline_history ``supply_point`` (others
raise SettlementError). Where each rule is written, and how the copies are kept equal:
docs/architecture.md, "Changing a rule".
"""
from core.settlement.python_engine import SettlementError
from core.settlement.run import SettleResult, settle_half

__all__ = ["SettleResult", "SettlementError", "settle_half"]
