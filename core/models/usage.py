"""Meter readings of supply points, and the record of every operator import.

Readings are keyed by the supply point, not the member: ``(resource, supply_key_hash, company, month)``
where ``supply_key_hash`` is ``cipher.keyed_hash(customer_number, purpose=resource)`` (the
customer number, or the data provider's unit key for managed-fee billing, after removing spaces
and hyphens). ``ResourceAccount.supply_key_hash`` joins them to members, so readings imported
before anyone registers the number are already there when a member joins
(``baseline_history = supply_point``, spec §5). No customer number is stored here in any form a
person could read.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

# Usage amounts: kWh or m3, at most 3 decimals (exact on PostgreSQL; SQL sums are done on
# ROUND(amount * 1000) integers so SQLite's REAL storage never leaks into a decision).
AMOUNT = Numeric(14, 3)


def key_text(length: int) -> String:
    """A key column of codes and hashes: compared byte by byte on PostgreSQL (collation "C",
    migration 0018) rather than by the database's language rules, which cost a million-reading
    import more than the rest of its index work and order ASCII codes the same; SQLite compares
    bytes already."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class ImportRun(Base):
    """One accepted operator file (usage, activities or payout results), for the dashboard.

    A file rejected as a whole writes nothing, not even this row (the CLI reports it)."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # usage | activities | payout_result
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # succeeded | partial (with --skip-invalid)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_changed: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected_file: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class ImportChange(Base):
    """Audit of a value an import replaced (a re-imported month, a corrected activity).

    ``key`` names the row without personal data: ``electricity:<supply hash>:202603`` for a
    reading, ``<member id>:<item>:<date>:<partner ref>`` for an activity."""

    __tablename__ = "import_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reading | activity
    key: Mapped[str] = mapped_column(String(200), index=True)
    old_value: Mapped[Decimal] = mapped_column(AMOUNT)
    new_value: Mapped[Decimal] = mapped_column(AMOUNT)
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class MeterReading(Base):
    """Usage of one supply point in one calendar month (the provider's usage month, §1)."""

    __tablename__ = "meter_readings"

    resource: Mapped[str] = mapped_column(key_text(16), primary_key=True)
    supply_key_hash: Mapped[str] = mapped_column(key_text(64), primary_key=True)
    # The utility company billing the supply point (core.utility_companies; "" = a complex
    # unit's key, or a number imported before anyone said which company bills it). After the
    # hash in the key, so the import finds a number's supply points at every company by prefix.
    company: Mapped[str] = mapped_column(key_text(32), primary_key=True, default="", server_default="")
    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # yyyymm
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    # The electricity tariff the provider billed the month under (general | agricultural |
    # late_night; None = not given). A half with a month under an excluded tariff (spec E5) is
    # not evaluated for that resource (EXCLUDED_TARIFF).
    tariff: Mapped[str | None] = mapped_column(String(24))
    # The import run that last wrote the reading (import_runs.id). Not a foreign key since
    # migration 0017: only the import writes it, in the same transaction as its run, and runs
    # are never deleted; PostgreSQL's check of the key cost more per reading than the rest of
    # the insert (a trigger a row: ~8 s of a million-reading import).
    import_run_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    # SQLite: the primary key is the table (no rowid), so a supply point's months sit together
    # and the settlement's aggregate reads them with one B-tree walk.
    __table_args__ = {"sqlite_with_rowid": False}


__all__ = ["AMOUNT", "ImportChange", "ImportRun", "MeterReading"]
