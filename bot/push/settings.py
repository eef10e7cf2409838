"""Settings of the pushes and the scheduler: names, defaults and meaning in one table
(`DEFINITIONS`, mirrored in webhooks.config.SETTINGS and README.md), parsed and checked once by
`PushSettings.from_env` so a wrong value stops the process at start, naming the setting."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from core.outbox import UNCERTAIN_POLICIES, QuietHours

# (env name, default, help, field name)
DEFINITIONS: list[tuple[str, str, str, str]] = [
    ("PUSH_RATE_PER_SEC", "100", "Event API messages (users, not requests) per second, per sender process. Kakao publishes no limit: start low.", "rate_per_sec"),
    ("PUSH_BATCH_SIZE", "100", "Users per Event API call (1-100; Kakao's limit is 100).", "batch_size"),
    ("PUSH_MAX_ATTEMPTS", "5", "Attempts before a notification is dead (timeouts before connecting, 5xx and 429 are retried).", "max_attempts"),
    ("PUSH_BACKOFF_BASE_SEC", "2", "First retry delay; doubles per attempt, with jitter.", "backoff_base_sec"),
    ("PUSH_BACKOFF_MAX_SEC", "600", "Longest retry delay.", "backoff_max_sec"),
    ("PUSH_CONNECT_TIMEOUT_SEC", "3.05", "Event API connect timeout.", "connect_timeout_sec"),
    ("PUSH_READ_TIMEOUT_SEC", "10", "Event API read timeout (a read timeout leaves the batch uncertain: UNCERTAIN_POLICY).", "read_timeout_sec"),
    ("PUSH_SENDER_LEASE_SEC", "60", "A sender silent this long is dead; its in-flight batch becomes uncertain. Must exceed both timeouts.", "sender_lease_sec"),
    ("PUSH_INTERVAL_SEC", "5", "How often the scheduler drains the outbox.", "interval_sec"),
    ("PUSH_TASK_CHECK_DELAY_SEC", "60", "Wait before looking up an accepted batch's task result.", "task_check_delay_sec"),
    ("PUSH_TASK_CHECK_MAX", "10", "Task lookups before a batch's result is left unverified.", "task_check_max"),
    ("UNCERTAIN_POLICY", "skip", "A batch that may or may not have reached Kakao (sender died after posting, read timeout): skip = report, never send again; resend = send again (a member may get it twice).", "uncertain_policy"),
    ("EVENT_NAME_MONTHLY_RESULT", "monthly_result", "이벤트 이름 of the monthly-result block in Open Builder.", "event_monthly_result"),
    ("EVENT_NAME_PAYOUT_NOTICE", "payout_notice", "이벤트 이름 of the payout-notice block (notices and reminders).", "event_payout_notice"),
    ("EVENT_NAME_CAMPAIGN", "campaign", "이벤트 이름 of the campaign block.", "event_campaign"),
    ("EVENT_TASK_PATH", "/v1/tasks/{taskId}", "Task lookup path of the Event API.", "event_task_path"),
    ("EVENT_APP_USER_TYPE", "appUserId", "Event API user type name for app user ids.", "event_app_user_type"),
    ("QUIET_HOURS", "21:00-08:00", "KST hours in which campaign (advertising) messages are never sent; held until the end.", "quiet_hours"),
    ("QUIET_MARGIN_MINUTES", "10", "Stop advertising this many minutes before the quiet hours (Kakao's brand messages stop at 20:50).", "quiet_margin_minutes"),
    ("SCHEDULE_MONTHLY_DAY", "20", "Day of month (1-28) the monthly results of the previous month go out.", "monthly_day"),
    ("SCHEDULE_MONTHLY_HOUR", "10", "Hour (KST) of the monthly results.", "monthly_hour"),
    ("SCHEDULE_MONTHLY_SOURCE", "core.monthly:queue_monthly_results", "module:function that writes the monthly-result notifications: fn(db, month 'YYYY-MM', *, clock) -> count.", "monthly_source"),
    ("SCHEDULE_PAYOUT_DAY", "10", "Day of the payout month (1-28) the payout notices go out.", "payout_day"),
    ("SCHEDULE_PAYOUT_HOUR", "10", "Hour (KST) of payout notices and reminders.", "payout_hour"),
    ("SCHEDULE_REMINDER_DAYS_BEFORE", "7", "Days before the payout notice that members whose payment would be held are reminded.", "reminder_days_before"),
    ("SCHEDULE_LEASE_SEC", "30", "Leader lease of the scheduler; a second scheduler takes over this long after the leader died.", "lease_sec"),
]


def _float(name: str, text: str, low: float, high: float | None = None) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    if value < low or (high is not None and value > high) or value != value:
        raise ValueError(f"{name} must be between {low} and {high if high is not None else 'any'}, got {text!r}")
    return value


def _int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class PushSettings:
    rate_per_sec: float = 100.0
    batch_size: int = 100
    max_attempts: int = 5
    backoff_base_sec: float = 2.0
    backoff_max_sec: float = 600.0
    connect_timeout_sec: float = 3.05
    read_timeout_sec: float = 10.0
    sender_lease_sec: float = 60.0
    interval_sec: float = 5.0
    task_check_delay_sec: float = 60.0
    task_check_max: int = 10
    uncertain_policy: str = "skip"
    event_monthly_result: str = "monthly_result"
    event_payout_notice: str = "payout_notice"
    event_campaign: str = "campaign"
    event_task_path: str = "/v1/tasks/{taskId}"
    event_app_user_type: str = "appUserId"
    quiet_hours: str = "21:00-08:00"
    quiet_margin_minutes: int = 10
    monthly_day: int = 20
    monthly_hour: int = 10
    monthly_source: str = "core.monthly:queue_monthly_results"
    payout_day: int = 10
    payout_hour: int = 10
    reminder_days_before: int = 7
    lease_sec: float = 30.0

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        if not 1 <= self.batch_size <= 100:
            raise ValueError(f"PUSH_BATCH_SIZE must be 1-100 (Event API limit), got {self.batch_size}")
        if not self.rate_per_sec > 0:
            raise ValueError("PUSH_RATE_PER_SEC must be above 0")
        if self.uncertain_policy not in UNCERTAIN_POLICIES:
            raise ValueError(f"UNCERTAIN_POLICY must be one of {', '.join(UNCERTAIN_POLICIES)}, got {self.uncertain_policy!r}")
        if self.sender_lease_sec <= self.connect_timeout_sec + self.read_timeout_sec:
            raise ValueError("PUSH_SENDER_LEASE_SEC must exceed PUSH_CONNECT_TIMEOUT_SEC + PUSH_READ_TIMEOUT_SEC, "
                             "or a slow but live sender would be taken for dead")
        if "{taskId}" not in self.event_task_path:
            raise ValueError("EVENT_TASK_PATH must contain {taskId}")
        for name, value in (("EVENT_NAME_MONTHLY_RESULT", self.event_monthly_result),
                            ("EVENT_NAME_PAYOUT_NOTICE", self.event_payout_notice),
                            ("EVENT_NAME_CAMPAIGN", self.event_campaign)):
            if not value or not value.strip():
                raise ValueError(f"{name} must not be empty")
        if ":" not in self.monthly_source:
            raise ValueError("SCHEDULE_MONTHLY_SOURCE must look like module:function")
        self.quiet()  # parses

    def quiet(self) -> QuietHours:
        return QuietHours.parse(self.quiet_hours, self.quiet_margin_minutes)

    def event_name(self, kind: str) -> str:
        return {
            "monthly_result": self.event_monthly_result,
            "payout_notice": self.event_payout_notice,
            "payout_reminder": self.event_payout_notice,
            "campaign": self.event_campaign,
        }[kind]

    @classmethod
    def from_env(cls, get: Callable[[str], str | None]) -> "PushSettings":
        """`get(name)` returns the environment value or the default of DEFINITIONS."""
        defaults = {name: default for name, default, _h, _f in DEFINITIONS}
        raw = {f: (get(name) if get(name) not in (None, "") else defaults[name]) for name, _d, _h, f in DEFINITIONS}
        kw = dict(
            rate_per_sec=_float("PUSH_RATE_PER_SEC", raw["rate_per_sec"], 0.001),
            batch_size=_int("PUSH_BATCH_SIZE", raw["batch_size"], 1, 100),
            max_attempts=_int("PUSH_MAX_ATTEMPTS", raw["max_attempts"], 1, 100),
            backoff_base_sec=_float("PUSH_BACKOFF_BASE_SEC", raw["backoff_base_sec"], 0),
            backoff_max_sec=_float("PUSH_BACKOFF_MAX_SEC", raw["backoff_max_sec"], 0),
            connect_timeout_sec=_float("PUSH_CONNECT_TIMEOUT_SEC", raw["connect_timeout_sec"], 0.1, 60),
            read_timeout_sec=_float("PUSH_READ_TIMEOUT_SEC", raw["read_timeout_sec"], 0.1, 300),
            sender_lease_sec=_float("PUSH_SENDER_LEASE_SEC", raw["sender_lease_sec"], 1),
            interval_sec=_float("PUSH_INTERVAL_SEC", raw["interval_sec"], 0.5, 3600),
            task_check_delay_sec=_float("PUSH_TASK_CHECK_DELAY_SEC", raw["task_check_delay_sec"], 0),
            task_check_max=_int("PUSH_TASK_CHECK_MAX", raw["task_check_max"], 1, 1000),
            uncertain_policy=str(raw["uncertain_policy"]).strip().lower(),
            event_monthly_result=str(raw["event_monthly_result"]).strip(),
            event_payout_notice=str(raw["event_payout_notice"]).strip(),
            event_campaign=str(raw["event_campaign"]).strip(),
            event_task_path=str(raw["event_task_path"]).strip(),
            event_app_user_type=str(raw["event_app_user_type"]).strip(),
            quiet_hours=str(raw["quiet_hours"]).strip(),
            quiet_margin_minutes=_int("QUIET_MARGIN_MINUTES", raw["quiet_margin_minutes"], 0, 600),
            monthly_day=_int("SCHEDULE_MONTHLY_DAY", raw["monthly_day"], 1, 28),
            monthly_hour=_int("SCHEDULE_MONTHLY_HOUR", raw["monthly_hour"], 0, 23),
            monthly_source=str(raw["monthly_source"]).strip(),
            payout_day=_int("SCHEDULE_PAYOUT_DAY", raw["payout_day"], 1, 28),
            payout_hour=_int("SCHEDULE_PAYOUT_HOUR", raw["payout_hour"], 0, 23),
            reminder_days_before=_int("SCHEDULE_REMINDER_DAYS_BEFORE", raw["reminder_days_before"], 1, 60),
            lease_sec=_float("SCHEDULE_LEASE_SEC", raw["lease_sec"], 1, 3600),
        )
        try:
            return cls(**kw)
        except ValueError as exc:
            raise ValueError(str(exc)) from None


def defaults_match() -> list[str]:
    """Settings whose DEFINITIONS default differs from the dataclass default (a test keeps
    them equal)."""
    built = PushSettings.from_env(lambda _name: None)
    plain = PushSettings()
    return [f.name for f in fields(PushSettings) if getattr(built, f.name) != getattr(plain, f.name)]
