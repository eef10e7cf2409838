"""Settings of the pushes, the scheduler and the Event API: names, defaults, bounds and
meaning declared once here (webhooks.config reads them from the environment and README.md's
table is generated from them), checked at start so a wrong value stops the process naming
the setting."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic.dataclasses import dataclass

from core.outbox import UNCERTAIN_POLICIES, QuietHours
from core.push_budget import BudgetSettings
from core.settings import setting

_STRICT = ConfigDict(str_strip_whitespace=True, allow_inf_nan=False)


@dataclass(frozen=True, config=_STRICT)
class PushSettings:
    """PUSH_*, UNCERTAIN_POLICY, EVENT_*, QUIET_*, SCHEDULE_* (a frozen dataclass: tests and
    the CLI change a copy with dataclasses.replace, which validates again)."""

    rate_per_sec: float = setting("PUSH_RATE_PER_SEC", 100.0, "Event API messages (users, not requests) per second, per sender process. Kakao publishes no limit: start low.", gt=0)
    batch_size: int = setting("PUSH_BATCH_SIZE", 100, "Users per Event API call (1-100; Kakao's limit is 100).", ge=1, le=100)
    max_attempts: int = setting("PUSH_MAX_ATTEMPTS", 5, "Attempts before a notification is dead (timeouts before connecting, 5xx and 429 are retried).", ge=1, le=100)
    backoff_base_sec: float = setting("PUSH_BACKOFF_BASE_SEC", 2.0, "First retry delay; doubles per attempt, with jitter.", ge=0)
    backoff_max_sec: float = setting("PUSH_BACKOFF_MAX_SEC", 600.0, "Longest retry delay.", ge=0)
    connect_timeout_sec: float = setting("PUSH_CONNECT_TIMEOUT_SEC", 3.05, "Event API connect timeout.", ge=0.1, le=60)
    read_timeout_sec: float = setting("PUSH_READ_TIMEOUT_SEC", 10.0, "Event API read timeout (a read timeout leaves the batch uncertain: UNCERTAIN_POLICY).", ge=0.1, le=300)
    sender_lease_sec: float = setting("PUSH_SENDER_LEASE_SEC", 60.0, "A sender silent this long is dead; its in-flight batch becomes uncertain. Must exceed both timeouts.", ge=1)
    interval_sec: float = setting("PUSH_INTERVAL_SEC", 5.0, "How often the scheduler drains the outbox.", ge=0.5, le=3600)
    task_check_delay_sec: float = setting("PUSH_TASK_CHECK_DELAY_SEC", 60.0, "Wait before looking up an accepted batch's task result.", ge=0)
    task_check_max: int = setting("PUSH_TASK_CHECK_MAX", 10, "Task lookups before a batch's result is left unverified.", ge=1, le=1000)
    # Literal over core.outbox's tuple, so the choices are spelled in one place.
    uncertain_policy: Literal[UNCERTAIN_POLICIES] = setting("UNCERTAIN_POLICY", "skip", "A batch that may or may not have reached Kakao (sender died after posting, read timeout): skip = report, never send again; resend = send again (a member may get it twice).")  # type: ignore[valid-type]
    event_monthly_result: str = setting("EVENT_NAME_MONTHLY_RESULT", "monthly_result", "이벤트 이름 of the monthly-result block in Open Builder.", min_length=1)
    event_payout_notice: str = setting("EVENT_NAME_PAYOUT_NOTICE", "payout_notice", "이벤트 이름 of the payout-notice block (notices and reminders).", min_length=1)
    event_campaign: str = setting("EVENT_NAME_CAMPAIGN", "campaign", "이벤트 이름 of the campaign block.", min_length=1)
    event_task_path: str = setting("EVENT_TASK_PATH", "/v1/tasks/{taskId}", "Task lookup path of the Event API (must contain {taskId}).", pattern=r"\{taskId\}")
    event_app_user_type: str = setting("EVENT_APP_USER_TYPE", "appUserId", "Event API user type name for app user ids.", min_length=1)
    quiet_hours: str = setting("QUIET_HOURS", "21:00-08:00", "KST hours in which campaign (advertising) messages are never sent; held until the end.")
    quiet_margin_minutes: int = setting("QUIET_MARGIN_MINUTES", 10, "Stop advertising this many minutes before the quiet hours (Kakao's brand messages stop at 20:50).", ge=0, le=600)
    monthly_day: int = setting("SCHEDULE_MONTHLY_DAY", 20, "Day of month (1-28) the monthly results of the previous month go out.", ge=1, le=28)
    monthly_hour: int = setting("SCHEDULE_MONTHLY_HOUR", 10, "Hour (KST) of the monthly results.", ge=0, le=23)
    # A seam, kept on purpose: integration tests point it at a probe, and a programme that
    # computes monthly results elsewhere points it at its own writer.
    monthly_source: str = setting("SCHEDULE_MONTHLY_SOURCE", "core.monthly:queue_monthly_results", "module:function that writes the monthly-result notifications: fn(db, month 'YYYY-MM', *, clock) -> count.", pattern=r"^[\w.]+:\w+$")
    payout_day: int = setting("SCHEDULE_PAYOUT_DAY", 10, "Day of the payout month (1-28) the payout notices go out.", ge=1, le=28)
    payout_hour: int = setting("SCHEDULE_PAYOUT_HOUR", 10, "Hour (KST) of payout notices and reminders.", ge=0, le=23)
    reminder_days_before: int = setting("SCHEDULE_REMINDER_DAYS_BEFORE", 7, "Days before the payout notice that members whose payment would be held are reminded.", ge=1, le=60)
    price_won: int = setting("PUSH_PRICE_WON", 15, "Price of one KakaoTalk message (won): estimates of broadcasts and scheduled pushes, and the budget caps.", ge=0, le=10000)
    budget_national_won: int = setting("PUSH_BUDGET_NATIONAL_WON", 0, "Monthly push budget of the whole programme (won); what would exceed it is held for an operator. 0: no cap. `cpoint budget` overrides it.", ge=0)
    budget_local_won: int = setting("PUSH_BUDGET_LOCAL_WON", 0, "Default monthly push budget of each local government (won), for its members' messages. 0: no cap. `cpoint budget --scope CODE` (or the sigungu name, as `--segment region:` takes it) sets one.", ge=0)
    lease_sec: float = setting("SCHEDULE_LEASE_SEC", 30.0, "Leader lease of the scheduler; a second scheduler takes over this long after the leader died.", ge=1, le=3600)

    @field_validator("uncertain_policy", mode="before")
    @classmethod
    def _lower(cls, value):
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _together(self) -> PushSettings:
        if self.sender_lease_sec <= self.connect_timeout_sec + self.read_timeout_sec:
            raise ValueError("PUSH_SENDER_LEASE_SEC must exceed PUSH_CONNECT_TIMEOUT_SEC + PUSH_READ_TIMEOUT_SEC, "
                             "or a slow but live sender would be taken for dead")
        self.quiet()  # parses (its message names the quiet hours)
        return self

    def quiet(self) -> QuietHours:
        return QuietHours.parse(self.quiet_hours, self.quiet_margin_minutes)

    def budget(self) -> BudgetSettings:
        return BudgetSettings(self.price_won, self.budget_national_won, self.budget_local_won)

    def event_name(self, kind: str) -> str:
        return {
            "monthly_result": self.event_monthly_result,
            "payout_notice": self.event_payout_notice,
            "payout_reminder": self.event_payout_notice,
            "campaign": self.event_campaign,
            "reminder": self.event_payout_notice,
            # the green-life digest opens its notice through the monthly block (its notice skill)
            "greenlife_digest": self.event_monthly_result,
        }[kind]


class EventApiSettings(BaseModel):
    """The Kakao bot and its Event API (shared with the edge: the skill check reads bot_id)."""

    model_config = ConfigDict(validate_assignment=True, str_strip_whitespace=True)

    bot_id: str | None = setting("KAKAO_BOT_ID", None, "Operating bot id; `{id}!` (development channel) is accepted too. Required while BOT_ID_CHECK is on.")
    api_base: str = setting("KAKAO_API_BASE", "https://bot-api.kakao.com", "Event API host; point it at a stand-in for tests or staging.", pattern=r"^https?://\S+$")
    rest_api_key: str | None = setting("KAKAO_REST_API_KEY", None, "REST API key of the Kakao Developers app (Event API).", secret=True)

    @field_validator("api_base")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
