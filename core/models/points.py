"""Settlement, statements, the append-only points ledger, payouts and effective-dated rates.

Invariants (enforced by core.settlement / core.ledger / core.payouts and the unique keys here):
- one statement per (member, half); one line per (member, half, resource);
- the statement's ``points`` equals the sum of the member's ledger entries for that half;
- the ledger is append-only: a settlement writes ``settlement`` once, a later change of inputs
  writes one ``adjustment`` (the delta) per run, never a second payment;
- a statement is in at most one current payout line (a held line released into a later round
  stays, as `released`, beside the line that pays it); one payout batch per (half, scope, round).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

RATE = Numeric(4, 2)          # won per point, 0 < rate <= 2, two decimals (§8.2)
BASELINE = Numeric(18, 5)     # B_H: readings have 3 decimals; /2 and x6/k add at most 2
USAGE_TOTAL = Numeric(18, 3)  # A_H and group sums

STATEMENT_STATUSES = ("expected", "held", "paid", "skipped")
HOLD_NO_ACCOUNT = "HOLD_NO_ACCOUNT"
HOLD_HOLDER_MISMATCH = "HOLD_HOLDER_MISMATCH"
HOLD_NO_ADDRESS = "HOLD_NO_ADDRESS"


class LocalGovernmentRate(Base):
    """Won per point of a 시군구 from a date on (effective-dated, §8.2). The rate in force on a
    half's last day applies to that half; without a row, LocalGovernment.won_per_point."""

    __tablename__ = "local_government_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_government_code: Mapped[str] = mapped_column(ForeignKey("local_governments.code"))
    effective_from: Mapped[date] = mapped_column(Date)
    won_per_point: Mapped[Decimal] = mapped_column(RATE)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("local_government_code", "effective_from",
                         name="uq_local_government_rates_code_from"),
    )


class SettlementRun(Base):
    """One execution of `cpoint settle --half`. At most one `running` per half (partial unique
    index); a crashed run is taken over once its heartbeat is stale."""

    __tablename__ = "settlement_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    half: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(12))  # running | completed | failed | abandoned
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    members: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    adjustments: Mapped[int] = mapped_column(Integer, default=0)
    points_delta: Mapped[int] = mapped_column(Integer, default=0)
    rules_source: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_settlement_runs_running_half", "half", unique=True,
              sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'")),
    )


class PointStatement(Base):
    """Result of one member for one half (spec §8.1): points, expected won, payout month and
    status `expected` -> `held` | `paid` | `skipped`."""

    __tablename__ = "point_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # References checked by triggers, per statement (core.models.references), not by keys.
    member_id: Mapped[int] = mapped_column(Integer)  # indexed by the unique key
    half: Mapped[str] = mapped_column(String(6))
    member_type: Mapped[str] = mapped_column(String(24))
    points_table: Mapped[str] = mapped_column(String(16))
    schedule: Mapped[str] = mapped_column(String(40))
    local_government_code: Mapped[str | None] = mapped_column(String(16))  # at the half's end
    rate: Mapped[Decimal] = mapped_column(RATE)
    points_before_cap: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    won_before_cap: Mapped[int] = mapped_column(Integer)
    won: Mapped[int] = mapped_column(Integer)  # expected; the payout line holds the final figure
    cap_points_per_half: Mapped[int] = mapped_column(Integer)
    cap_won_per_year: Mapped[int] = mapped_column(Integer)
    payout_month: Mapped[int] = mapped_column(Integer)  # yyyymm
    status: Mapped[str] = mapped_column(String(12), default="expected")
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    result_hash: Mapped[str] = mapped_column(String(64))
    settlement_run_id: Mapped[int] = mapped_column(Integer)  # settlement_runs (reference)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("member_id", "half", name="uq_point_statements_member_half"),
        Index("ix_point_statements_half_lg", "half", "local_government_code"),
    )


class StatementLine(Base):
    """One resource of a statement: baseline, actual, rate, band, points and the reason."""

    __tablename__ = "statement_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Found by (member_id, half), which is also the reference to the statement (checked by
    # triggers, core.models.references): the unique key below serves lookups and the checks.
    statement_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    half: Mapped[str] = mapped_column(String(6))
    resource: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(Integer)
    evaluated: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))
    reason_params: Mapped[dict | None] = mapped_column(JSON)
    baseline: Mapped[Decimal | None] = mapped_column(BASELINE)
    actual: Mapped[Decimal | None] = mapped_column(USAGE_TOTAL)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # percent, truncated (display)
    band: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    reduction_points: Mapped[int] = mapped_column(Integer)
    maintenance_points: Mapped[int] = mapped_column(Integer)
    standard_points: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    standard_usage_qualified: Mapped[bool] = mapped_column(Boolean)
    earned_reduction: Mapped[bool] = mapped_column(Boolean)
    streak_before: Mapped[int] = mapped_column(Integer)
    streak_after: Mapped[int] = mapped_column(Integer)
    group_level: Mapped[str | None] = mapped_column(String(12))
    group_n: Mapped[int | None] = mapped_column(Integer)
    group_total: Mapped[Decimal | None] = mapped_column(USAGE_TOTAL)
    detail: Mapped[dict | None] = mapped_column(JSON)  # {"filled": [...], "fallback": [...]}

    __table_args__ = (
        UniqueConstraint("member_id", "half", "resource", name="uq_statement_lines_member_half_res"),
    )


class StatementRevision(Base):
    """The previous version of a statement, kept when a re-settlement changed it."""

    __tablename__ = "statement_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("point_statements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSON)
    replaced_by_run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"))
    replaced_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("statement_id", "version", name="uq_statement_revisions_version"),
    )


class LedgerEntry(Base):
    """Append-only points ledger. Never updated or deleted (the ORM refuses; code issues no
    UPDATE or DELETE on it)."""

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer)  # members (reference, core.models.references)
    half: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(16))  # settlement | adjustment
    points: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int] = mapped_column(Integer)  # settlement_runs (reference)
    reference: Mapped[str] = mapped_column(String(120))  # statement:<id>:v<version>
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        # also the index of (member, half) sums
        UniqueConstraint("member_id", "half", "kind", "run_id", name="uq_points_ledger_entry"),
    )


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _ledger_is_append_only(_mapper, _conn, target):  # pragma: no cover - a guard
    raise RuntimeError(f"points_ledger is append-only (entry {target.id})")


class PayoutBatch(Base):
    """One payout file: per (half, scope, round), scope = a 시군구 code or 'all'. Recorded once.
    Round 1 is the half's file; each later round pays the held lines whose hold was resolved
    (core.payouts.release_held)."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    half: Mapped[str] = mapped_column(String(6))
    scope: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)
    total_points: Mapped[int] = mapped_column(Integer)
    total_won: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (UniqueConstraint("half", "scope", "round", name="uq_payout_batches_half_scope_round"),)


class PayoutLine(Base):
    """What a member is to be paid for a half: won at the local rate, or why it is held."""

    __tablename__ = "payout_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("point_statements.id"))
    member_id: Mapped[int] = mapped_column(Integer, index=True)
    half: Mapped[str] = mapped_column(String(6))
    local_government_code: Mapped[str | None] = mapped_column(String(16))
    incentive_type: Mapped[str] = mapped_column(String(24))
    points: Mapped[int] = mapped_column(Integer)
    rate: Mapped[Decimal] = mapped_column(RATE)
    won_before_cap: Mapped[int] = mapped_column(Integer)
    won: Mapped[int] = mapped_column(Integer)
    payout_month: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # expected | held | paid | skipped | released
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    bank_name: Mapped[str | None] = mapped_column(String(40))
    account_masked: Mapped[str | None] = mapped_column(String(40))
    result_reason: Mapped[str | None] = mapped_column(String(32))
    result_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    released_at: Mapped[datetime | None] = mapped_column(DateTime)  # the hold resolved, paid in a later round

    __table_args__ = (
        # one current line per statement; a released line stays as the record of the hold
        Index("uq_payout_lines_statement_current", "statement_id", unique=True,
              sqlite_where=text("status <> 'released'"), postgresql_where=text("status <> 'released'")),
    )
