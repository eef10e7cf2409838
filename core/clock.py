"""Injected clock: logic asks a Clock for the time so tests can fix it."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")


class Clock(Protocol):
    def now(self) -> datetime:  # timezone-aware, UTC
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and demos."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, **delta) -> None:
        self._at += timedelta(**delta)


def now_kst(clock: Clock) -> datetime:
    return clock.now().astimezone(KST)


def today_kst(clock: Clock) -> date:
    return now_kst(clock).date()


def utcnow_naive(clock: Clock) -> datetime:
    """UTC without tzinfo, the form stored in DateTime columns (portable across SQLite/PG)."""
    return clock.now().astimezone(UTC).replace(tzinfo=None)


def kst_date(stored: datetime) -> date:
    """The day in Korea of a stored DateTime (naive UTC, see utcnow_naive): a member who joined
    at 08:00 KST on 1 July joined on 1 July, not on 30 June."""
    return stored.replace(tzinfo=UTC).astimezone(KST).date()


def kst_iso(stored: datetime) -> str:
    """A stored DateTime (naive UTC) as Korean time with its offset, for operators' pages and files."""
    return stored.replace(tzinfo=UTC).astimezone(KST).isoformat(timespec="seconds")
