"""Settings of operator accounts, the audit trail, the purge of withdrawn members and the
unmatched questions queue
(composed into webhooks.config.Settings as `operators`)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from core.settings import setting


class OperatorSettings(BaseModel):
    model_config = ConfigDict(validate_assignment=True, str_strip_whitespace=True)

    api_rate_limit: str = setting("ADMIN_API_RATE_LIMIT", "120/m", "Admin API requests one operator token may make per window (counted in the database, across processes).")
    audit_retention_days: int = setting("AUDIT_RETENTION_DAYS", 730, "How long audit entries are kept; `cpoint audit purge` (and the scheduler daily) removes older ones behind a verifiable anchor.", ge=30, le=3650)
    unmatched_retention_days: int = setting("UNMATCHED_RETENTION_DAYS", 90, "Days the questions the bot did not understand (masked, on the dashboard's unmatched page) are kept; the scheduler's housekeeping deletes older ones.", ge=1, le=3650)
    withdrawn_purge_days: int = setting("WITHDRAWN_PURGE_DAYS", 30, "Days after a withdrawal when what is left of the member (identifiers in notifications, payout lines, pledges) is removed; the ledger stays under the bare member id.", ge=0, le=3650)

    @field_validator("api_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from bot.ratelimit import parse_rate

        try:
            turns, seconds = parse_rate(value)
        except (ValueError, IndexError):
            turns = seconds = 0
        if turns < 1 or not seconds > 0:
            raise ValueError("must look like 120/m or 10/s")
        return value
