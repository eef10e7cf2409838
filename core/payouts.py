"""Payouts: settled points -> won per member, the file a finance team takes (spec §8).

`flask --app webhooks cpoint payouts --half 2026H1 --out payouts.csv [--local-government CODE]`

- won = floor(points x rate), the rate of the member's 시군구 in force on the half's last day
  (address history, effective-dated rates; core.local_government_rates), then the
  yearly won cap over H1 + H2 (the other half's payout, or its expected won before it is paid).
- Holds: HOLD_NO_ADDRESS (no address / 시군구), HOLD_NO_ACCOUNT (cash without an account),
  HOLD_HOLDER_MISMATCH (account holder differs from the member's name). Held lines are listed
  with the reason; the statement status becomes `held`.
- One batch per (half, scope), scope = a 시군구 code or `all` (unique key): running the command
  again rewrites the same file from the record and changes nothing. A statement is in at most one
  current payout line (unique), so an `all` batch after per-시군구 batches takes only the rest.
- `cpoint payouts --half 2026H1 --out f.csv --release-held`: a later round of the (half, scope)
  file with the held lines whose hold is now resolved (the member added their own account or an
  address, as the held-payment notice asks); each held line stays, `released`, beside the new
  one; each member so paid gets a payout notice saying so (once: keyed by the round). Nothing
  resolved: no round and no file.
- `cpoint payout-result FILE` records the local government's result (paid / skipped).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core import spreadsheet
from core.clock import Clock, today_kst, utcnow_naive
from core.crypto import FieldCipher
from core.csv_screening import code_of, word_key
from core.db import Database
from core.db_bulk import bulk_insert
from core.local_government_rates import local_government_table
from core.models.points import (
    HOLD_HOLDER_MISMATCH,
    HOLD_NO_ACCOUNT,
    HOLD_NO_ADDRESS,
    PayoutBatch,
    PayoutLine,
)
from core.models.usage import ImportRun
from core.outbox import enqueue_many
from core.pii import mask_name, mask_number
from core.points import reasons
from core.points.award import won_for
from core.points.periods import Half
from core.progress import invalidate_all
from core.rules import Rules, default_rules
from core.sqla import table_of
from core.usage_import import (
    CsvRow,
    ImportRejected,
    ImportResult,
    RowError,
    field_count_error,
    file_sha256,
    read_operator_csv,
)

CSV_COLUMNS = ("member_id", "name", "local_government_code", "local_government", "incentive_type",
               "bank", "account", "points", "rate", "won", "payout_month", "status", "hold_reason")
RESULT_HEADER = ("member_id", "half", "status", "reason")


class PayoutError(RuntimeError):
    pass


@dataclass
class PayoutResult:
    batch_id: int
    half: str
    scope: str
    rows: int
    held: int
    total_points: int
    total_won: int
    already_recorded: bool = False
    out: str | None = None
    hold_counts: dict[str, int] = field(default_factory=dict)
    round: int = 1

    def summary(self) -> str:
        head = "payout batch already recorded; file rewritten from the record" \
            if self.already_recorded else "payout batch recorded"
        holds = ", ".join(f"{k} {v}" for k, v in sorted(self.hold_counts.items())) or "none"
        if self.round > 1:  # a later round pays resolved holds; the rest stay held in earlier rounds
            return (f"payout round {self.round} recorded (held lines now resolved): #{self.batch_id} {self.half} "
                    f"{self.scope}: {self.rows} member(s), {self.total_points} P, {self.total_won} won to pay; "
                    f"still held {sum(self.hold_counts.values())} ({holds}) -> {self.out}")
        return (f"{head}: #{self.batch_id} {self.half} {self.scope}: {self.rows} member(s), "
                f"{self.total_points} P, {self.total_won} won to pay; held {self.held} ({holds}) "
                f"-> {self.out}")


def last_paid_half(session, code: str) -> Half | None:
    """The latest half with a recorded payout line of the local government, or None: its rate
    (the one in force on its last day) must not change any more."""
    from sqlalchemy import func

    half = session.scalar(select(func.max(PayoutLine.half)).where(PayoutLine.local_government_code == code))
    return Half.parse(half) if half else None


def _same_name(a: str | None, b: str | None) -> bool:
    norm = lambda s: "".join((s or "").split()).casefold()  # noqa: E731
    return bool(norm(a)) and norm(a) == norm(b)


def hold_reason(incentive_type: str, name: str | None, address: str | None, lg_code: str | None,
                account_enc: str | bool | None, holder: str | None) -> str | None:
    """Why a payout to this member would be held (HOLD_*), or None; ``account_enc``: the
    encrypted account number, or whether there is one."""
    if not address or not lg_code:
        return HOLD_NO_ADDRESS
    if incentive_type == "cash":
        if not account_enc:
            return HOLD_NO_ACCOUNT
        if not _same_name(holder, name):
            return HOLD_HOLDER_MISMATCH
    return None


def create_payouts(db: Database, cipher: FieldCipher, clock: Clock, half: str, out: str | Path, *,
                   scope: str = "all", rules: Rules | None = None) -> PayoutResult:
    rules = rules or default_rules()
    try:
        h = Half.parse(half)
    except ValueError as exc:
        raise PayoutError(str(exc)) from None
    half = str(h)
    out = Path(out)
    with db.transaction() as s:
        invalidate_all(s.connection())  # the balance card shows payouts: prepared rows go
        batch = s.scalars(select(PayoutBatch).where(PayoutBatch.half == half, PayoutBatch.scope == scope,
                                                    PayoutBatch.round == 1)).first()
        if batch is not None:
            result = _result(s, batch, already=True)
            _write_csv(s, cipher, batch.id, out)
            result.out = str(out)
            return result
        settled = s.execute(text("SELECT COUNT(*) FROM settlement_runs WHERE half = :h AND status = 'completed'"),
                            {"h": half}).scalar_one()
        if not settled:
            raise PayoutError(f"{half} has not been settled (run `cpoint settle --half {half}` first)")
        running = s.execute(text("SELECT COUNT(*) FROM settlement_runs WHERE half = :h AND status = 'running'"),
                            {"h": half}).scalar_one()
        if running:
            raise PayoutError(f"a settlement of {half} is running; try again when it has finished")
        if scope != "all" and s.execute(text("SELECT COUNT(*) FROM local_governments WHERE code = :c"),
                                        {"c": scope}).scalar_one() == 0:
            raise PayoutError(f"unknown local government {scope!r}")
        lgs = local_government_table(s, h, rules)
        where = "" if scope == "all" else " AND st.local_government_code = :scope"
        rows = s.execute(text(
            "SELECT st.id, st.member_id, st.points, st.cap_won_per_year, st.local_government_code,"
            " m.incentive_type, m.name, m.address, m.account_number_enc, m.account_holder, m.bank_name"
            " FROM point_statements st JOIN members m ON m.id = st.member_id"
            " WHERE st.half = :h AND st.points > 0 AND st.status IN ('expected', 'held')"
            " AND NOT EXISTS (SELECT 1 FROM payout_lines pl WHERE pl.statement_id = st.id)" + where +
            " ORDER BY st.member_id"), {"h": half, "scope": scope}).all()
        earlier = {}
        if h.number == 2:
            earlier = {m: int(w) for m, w in s.execute(text(
                "SELECT s.member_id, CASE WHEN pl.id IS NULL THEN s.won WHEN pl.status = 'skipped'"
                " THEN 0 ELSE pl.won END FROM point_statements s LEFT JOIN payout_lines pl"
                " ON pl.statement_id = s.id AND pl.status <> 'released' WHERE s.half = :h"),
                {"h": str(h.sibling())})}
        now = utcnow_naive(clock)
        batch = PayoutBatch(half=half, scope=scope, rows=0, held=0, total_points=0, total_won=0,
                            file_name=out.name[:255], created_at=now)
        s.add(batch)
        try:
            s.flush()
        except IntegrityError:
            raise PayoutError(f"a payout batch for {half} {scope} was just recorded by another run") from None
        lines, held_ids = [], []
        holds: dict[str, int] = {}
        for sid, mid, points, cap_won, lg_code, itype, name, address, acc, holder, bank in rows:
            lg = lgs.get(lg_code) if lg_code else None
            rate = lg.rate if lg else rules.rate.default
            won_before = won_for(points, rate)
            won = min(won_before, max(0, cap_won - earlier.get(mid, 0)))
            reason = hold_reason(itype, name, address, lg_code if lg else None, acc, holder)
            if reason:
                held_ids.append((sid, reason))
                holds[reason] = holds.get(reason, 0) + 1
            masked = mask_number(cipher.decrypt(acc)) if acc else None
            lines.append({
                "batch_id": batch.id, "statement_id": sid, "member_id": mid, "half": half,
                "local_government_code": lg_code, "incentive_type": itype, "points": points,
                "rate": rate, "won_before_cap": won_before, "won": won,
                "payout_month": lg.payout_month if lg else h.payout_month(rules),
                "status": "held" if reason else "expected", "hold_reason": reason,
                "bank_name": bank if itype == "cash" else None,
                "account_masked": masked if itype == "cash" else None, "created_at": now})
        bulk_insert(s.connection(), table_of(PayoutLine), lines)
        for start in range(0, len(held_ids), 1000):
            s.execute(text("UPDATE point_statements SET status = 'held', hold_reason = :r WHERE id = :i"),
                      [{"i": i, "r": r} for i, r in held_ids[start:start + 1000]])
        batch.rows = len(lines)
        batch.held = len(held_ids)
        batch.total_points = sum(ln["points"] for ln in lines)
        batch.total_won = sum(ln["won"] for ln in lines if ln["status"] != "held")
        s.flush()
        result = _result(s, batch, already=False)
        result.hold_counts = holds
        _write_csv(s, cipher, batch.id, out)
        result.out = str(out)
        return result


def release_held(db: Database, cipher: FieldCipher, clock: Clock, half: str, out: str | Path, *,
                 scope: str = "all") -> PayoutResult | None:
    """A later round of the (half, scope) payout file: the lines held in its rounds so far whose
    hold is resolved now (hold_reason of the member as they are today: an own-name account
    added, another payout type chosen, an address), each for what its held line owed, paid in
    the current month. The held line stays, `released`, as the record of the hold; the
    statement is expected again. None (no round, no file) when no hold is resolved; the lines
    still held are counted on the result of a round. Two runs at once: one records the round,
    the other fails on the unique (half, scope, round)."""
    try:
        h = Half.parse(half)
    except ValueError as exc:
        raise PayoutError(str(exc)) from None
    half, out = str(h), Path(out)
    with db.transaction() as s:
        rounds = [r for (r,) in s.execute(select(PayoutBatch.round).where(
            PayoutBatch.half == half, PayoutBatch.scope == scope))]
        if not rounds:
            raise PayoutError(f"no payout file for {half} {scope} yet (run `cpoint payouts --half {half}` first)")
        rows = s.execute(text(
            "SELECT pl.id, pl.statement_id, pl.member_id, pl.local_government_code, pl.points, pl.rate,"
            " pl.won_before_cap, pl.won, m.incentive_type, m.name, m.address, m.account_number_enc,"
            " m.account_holder, m.bank_name FROM payout_lines pl"
            " JOIN payout_batches b ON b.id = pl.batch_id JOIN members m ON m.id = pl.member_id"
            " WHERE b.half = :h AND b.scope = :scope AND pl.status = 'held' ORDER BY pl.member_id"),
            {"h": half, "scope": scope}).all()
        now = utcnow_naive(clock)
        today = today_kst(clock)
        month = today.year * 100 + today.month  # paid in this round's month
        released: list[tuple[int, int, dict]] = []
        still: dict[str, int] = {}
        for (line_id, sid, mid, lg_code, points, rate, before, won, itype, name, address, acc, holder,
             bank) in rows:
            reason = hold_reason(itype, name, address, lg_code, acc, holder)
            if reason:
                still[reason] = still.get(reason, 0) + 1
                continue
            released.append((line_id, sid, {
                "statement_id": sid, "member_id": mid, "half": half, "local_government_code": lg_code,
                "incentive_type": itype, "points": points, "rate": rate, "won_before_cap": before, "won": won,
                "payout_month": month, "status": "expected", "hold_reason": None,
                "bank_name": bank if itype == "cash" else None,
                "account_masked": mask_number(cipher.decrypt(acc)) if itype == "cash" and acc else None,
                "created_at": now}))
        if not released:
            return None
        invalidate_all(s.connection())  # the balance card shows payouts: prepared rows go
        batch = PayoutBatch(half=half, scope=scope, round=max(rounds) + 1, rows=len(released), held=0,
                            total_points=sum(ln["points"] for _, _, ln in released),
                            total_won=sum(ln["won"] for _, _, ln in released), file_name=out.name[:255],
                            created_at=now)
        s.add(batch)
        try:
            s.flush()
        except IntegrityError:
            raise PayoutError(f"a payout round for {half} {scope} was just recorded by another run") from None
        # the held lines first: one current line per statement (uq_payout_lines_statement_current)
        s.execute(text("UPDATE payout_lines SET status = 'released', released_at = :t WHERE id = :i"),
                  [{"t": now, "i": line_id} for line_id, _, _ in released])
        bulk_insert(s.connection(), table_of(PayoutLine), [{**ln, "batch_id": batch.id} for _, _, ln in released])
        s.execute(text("UPDATE point_statements SET status = 'expected', hold_reason = NULL WHERE id = :i"),
                  [{"i": sid} for _, sid, _ in released])
        # each member is told once, with the release: a payout notice of the new round
        enqueue_many(s, [{"member_id": ln["member_id"], "kind": "payout_notice", "period": half,
                          "dedupe_key": f"payout_notice:{ln['member_id']}:{half}:round{batch.round}",
                          "payload": {"half": half, "points": ln["points"], "won": ln["won"], "payout_month": month,
                                      "status": "expected", "hold_reason": None, "released": True}}
                         for _, _, ln in released], now=now)
        result = PayoutResult(batch.id, half, scope, batch.rows, 0, batch.total_points, batch.total_won,
                              hold_counts=still, round=batch.round)
        _write_csv(s, cipher, batch.id, out)
        result.out = str(out)
        return result


def _result(s, batch: PayoutBatch, already: bool) -> PayoutResult:
    holds = dict(s.execute(text("SELECT hold_reason, COUNT(*) FROM payout_lines WHERE batch_id = :b"
                                " AND hold_reason IS NOT NULL GROUP BY hold_reason"), {"b": batch.id}).all())
    return PayoutResult(batch.id, batch.half, batch.scope, batch.rows, batch.held,
                        batch.total_points, batch.total_won, already, hold_counts=holds, round=batch.round)


def _write_csv(s, cipher: FieldCipher, batch_id: int, out: Path) -> None:
    rows = s.execute(text(
        "SELECT pl.member_id, m.name, pl.local_government_code, lg.name, pl.incentive_type,"
        " pl.bank_name, pl.account_masked, pl.points, pl.rate, pl.won, pl.payout_month, pl.status,"
        " pl.hold_reason FROM payout_lines pl JOIN members m ON m.id = pl.member_id"
        " LEFT JOIN local_governments lg ON lg.code = pl.local_government_code"
        " WHERE pl.batch_id = :b ORDER BY pl.local_government_code, pl.member_id"), {"b": batch_id}).all()
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel opens it as UTF-8
        w = spreadsheet.writer(fh)
        w.writerow(CSV_COLUMNS)
        for (mid, name, code, lg_name, itype, bank, acc, points, rate, won, month, status,
             hold) in rows:
            w.writerow([mid, mask_name(name), code or "", lg_name or "", itype, bank or "",
                        acc or "", points, Decimal(str(rate)).quantize(Decimal("0.01")), won,
                        f"{month // 100:04d}-{month % 100:02d}", status, hold or ""])
    tmp.replace(out)


# --- payout results from the local government ---------------------------------------------

def payout_status(cell: str) -> str:
    """paid or skipped as the file writes it: the code, or a finance team's word ('지급완료',
    '반송'; core/data/imports.toml payout_status_aliases); anything else as typed (refused)."""
    return code_of("payout_status_aliases", cell) or word_key(cell)


def import_payout_results(db: Database, clock: Clock, path: str | Path, encoding: str = "utf-8") -> ImportResult:
    """CSV ``member_id,half,status,reason``: status paid | skipped (reason defaults to
    SKIPPED_MISMATCH for skipped). Every row must name a payout line; all or nothing."""
    path = Path(path)
    started = utcnow_naive(clock)
    rows = read_operator_csv(path, RESULT_HEADER, encoding)
    errors: list[RowError] = []
    good: list[tuple[CsvRow, int, str, str, str | None]] = []
    seen: dict[tuple, int] = {}
    with db.session() as s:
        for row in rows:
            if not row.values:
                errors.append(RowError(row.line, field_count_error(row, RESULT_HEADER)))
                continue
            v = row.values
            problems = []
            if not (v["member_id"].isascii() and v["member_id"].isdigit()):  # never full-width digits
                problems.append(f"member_id must be a number: {v['member_id']!r}")
            try:
                half = str(Half.parse(v["half"]))
            except ValueError as exc:
                problems.append(str(exc))
                half = None
            status = payout_status(v["status"])
            if status not in ("paid", "skipped"):
                problems.append(f"status must be paid or skipped (or a word of core/data/imports.toml payout_status_aliases): {v['status']!r}")
            reason = v["reason"] or (reasons.SKIPPED_MISMATCH if status == "skipped" else None)
            if not problems:
                assert half is not None  # an unreadable half is one of the problems
                line_id = s.execute(text("SELECT id FROM payout_lines WHERE member_id = :m AND half = :h"
                                         " AND status <> 'released'"),
                                    {"m": int(v["member_id"]), "h": half}).scalar()
                if line_id is None:
                    problems.append(f"no payout line for member {v['member_id']} in {half}")
                elif (int(v["member_id"]), half) in seen:
                    problems.append(f"duplicate of line {seen[(int(v['member_id']), half)]}")
                else:
                    seen[(int(v["member_id"]), half)] = row.line
                    good.append((row, line_id, half, status, reason))
            errors += [RowError(row.line, p) for p in problems]
    if errors:
        raise ImportRejected(errors)
    now = utcnow_naive(clock)
    result = ImportResult(None, len(rows))
    with db.transaction() as s:
        invalidate_all(s.connection())  # the balance card shows payouts: prepared rows go
        run = ImportRun(kind="payout_result", file_name=path.name[:255], sha256=file_sha256(path),
                        status="succeeded", rows_total=len(rows), started_at=started)
        s.add(run)
        s.flush()
        for _row, line_id, _half, status, reason in good:
            current = s.get(PayoutLine, line_id)
            if current is None:  # read in the checking session above; deleted since
                raise PayoutError(f"payout line {line_id} disappeared during the import")
            if current.status == status and current.result_reason == reason:
                result.unchanged += 1
                continue
            result.changed += 1
            current.status, current.result_reason, current.result_at = status, reason, now
            s.execute(text("UPDATE point_statements SET status = :st, hold_reason = :r WHERE id = :i"),
                      {"st": status, "r": reason if status == "skipped" else None,
                       "i": current.statement_id})
        run.rows_changed, run.rows_unchanged = result.changed, result.unchanged
        run.finished_at = utcnow_naive(clock)
        result.run_id = run.id
    return result
