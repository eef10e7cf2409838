"""Configuration from environment variables (a `.env` file may supply them).

Every setting, its default and meaning is listed in README.md; `SETTINGS` below is the
single source of that table."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.push.settings import DEFINITIONS as PUSH_DEFINITIONS, PushSettings

TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    secret: bool = False


SETTINGS: list[Setting] = [
    Setting("DATABASE_URL", None, "SQLAlchemy URL. Default: SQLite at instance/cpoint.db. PostgreSQL: postgresql+psycopg://user:pw@host/db"),
    Setting("SKILL_SECRET", None, "Shared secret Open Builder sends in the skill header (헤더값 입력). Required while SKILL_SECRET_REQUIRED is on.", True),
    Setting("SKILL_SECRET_HEADER", "X-Skill-Secret", "Name of that header."),
    Setting("SKILL_SECRET_REQUIRED", "true", "Check the skill header (401 when missing or wrong)."),
    Setting("KAKAO_BOT_ID", None, "Operating bot id; `{id}!` (development channel) is accepted too. Required while BOT_ID_CHECK is on."),
    Setting("BOT_ID_CHECK", "true", "Refuse skill requests of another bot (403)."),
    Setting("MAX_BODY_BYTES", "65536", "Largest skill request body accepted (413 above)."),
    Setting("ADMIN_TOKEN", None, "Bearer token for /admin endpoints and the dashboard login. Admin endpoints are closed while it is unset.", True),
    Setting("FIELD_ENCRYPTION_KEY", None, "Fernet key(s), comma-separated (first encrypts, all decrypt) for customer numbers and accounts. `flask --app webhooks cpoint gen-keys` prints new ones.", True),
    Setting("FIELD_HASH_KEY", None, "Key of the keyed hash used to find customer numbers and households.", True),
    Setting("USER_RATE_LIMIT", "20/10s", "Turns one user may send per window (e.g. 20/10s, 60/m); 'off' disables. Per web process."),
    Setting("DIALOG_TTL_HOURS", "24", "How long an unfinished dialog (signup) can be resumed."),
    Setting("KAKAO_BLOCK_IDS", "{}", "JSON map skill -> Open Builder block id; quick replies then call blocks directly."),
    Setting("CALL_CENTRE", "1660-2030", "Call centre number in replies."),
    Setting("TERMS_URL", "https://www.cpoint.or.kr", "Where the full terms of use and privacy notice are published (the signup's consent step links to it)."),
    Setting("OPERATOR_NAME", "탄소중립포인트 운영센터", "Sender name in campaign (advertising) messages."),
    Setting("PUBLIC_BASE_URL", "http://localhost:5000", "Public https base URL of this server (chart images, links)."),
    Setting("KAKAO_API_BASE", "https://bot-api.kakao.com", "Event API host; point it at a stand-in for tests or staging."),
    Setting("KAKAO_REST_API_KEY", None, "REST API key of the Kakao Developers app (Event API).", True),
    Setting("KAKAO_ADMIN_KEY", None, "Primary admin key: authenticates the channel add/block webhook.", True),
    Setting("EMULATOR_ENABLED", "false", "Serve the local chat emulator at /emulator."),
    Setting("METRICS_ENABLED", "true", "Serve Prometheus metrics at /metrics."),
    Setting("METRICS_TOKEN", None, "When set, /metrics needs `Authorization: Bearer <token>`.", True),
    Setting("CHART_URL_TTL_SECONDS", "86400", "How long a usage chart URL works (it is signed, opaque and expires)."),
    Setting("CHART_CACHE_SECONDS", "3600", "How long a rendered usage chart PNG is reused before it is drawn again."),
    Setting("CHART_CACHE_DIR", None, "Directory of rendered chart PNGs (default instance/charts); may be shared by web processes."),
    Setting("CHART_SECRET", None, "Key of the chart URL tokens; derived from FIELD_HASH_KEY when unset.", True),
    Setting("SECRET_KEY", None, "Flask session key (dashboard login cookie); derived from FIELD_HASH_KEY when unset.", True),
    Setting("DASHBOARD_SESSION_HOURS", "8", "How long a dashboard login lasts."),
    Setting("LOG_FORMAT", "json", "json or text."),
    Setting("LOG_LEVEL", "INFO", "Python log level."),
]
# Pushes and the scheduler (bot/push/settings.py holds their defaults, meaning and checks).
SETTINGS += [Setting(name, default, help_) for name, default, help_, _field in PUSH_DEFINITIONS]


def _env(name: str) -> str | None:
    for s in SETTINGS:
        if s.name == name:
            return os.environ.get(name, s.default)
    return os.environ.get(name)


def _bool(name: str) -> bool:
    return (_env(name) or "").strip().lower() in TRUE


@dataclass
class Config:
    database_url: str
    skill_secret: str | None = None
    skill_secret_header: str = "X-Skill-Secret"
    skill_secret_required: bool = True
    kakao_bot_id: str | None = None
    bot_id_check: bool = True
    max_body_bytes: int = 65536
    admin_token: str | None = None
    field_encryption_key: str | None = None
    field_hash_key: str | None = None
    dialog_ttl: timedelta = timedelta(hours=24)
    user_rate_limit: str = "20/10s"
    block_ids: dict = field(default_factory=dict)
    call_centre: str = "1660-2030"
    terms_url: str = "https://www.cpoint.or.kr"
    operator_name: str = "탄소중립포인트 운영센터"
    public_base_url: str = "http://localhost:5000"
    kakao_api_base: str = "https://bot-api.kakao.com"
    kakao_rest_api_key: str | None = None
    kakao_admin_key: str | None = None
    emulator_enabled: bool = False
    metrics_enabled: bool = True
    metrics_token: str | None = None
    chart_url_ttl_seconds: int = 86400
    chart_cache_seconds: int = 3600
    chart_secret: str | None = None
    chart_cache_dir: str | None = None
    secret_key: str | None = None
    dashboard_session_hours: float = 8.0
    log_format: str = "json"
    log_level: str = "INFO"
    strict_responses: bool = False
    extra: dict = field(default_factory=dict)  # settings other modules read by name
    push: PushSettings = field(default_factory=PushSettings)  # PUSH_*, EVENT_*, QUIET_*, SCHEDULE_*

    @classmethod
    def from_env(cls, instance_path: str | Path) -> "Config":
        default_db = "sqlite:///" + str(Path(instance_path) / "cpoint.db")
        return cls(
            database_url=os.environ.get("DATABASE_URL") or default_db,
            skill_secret=_env("SKILL_SECRET") or None,
            skill_secret_header=_env("SKILL_SECRET_HEADER"),
            skill_secret_required=_bool("SKILL_SECRET_REQUIRED"),
            kakao_bot_id=_env("KAKAO_BOT_ID") or None,
            bot_id_check=_bool("BOT_ID_CHECK"),
            max_body_bytes=int(_env("MAX_BODY_BYTES")),
            admin_token=_env("ADMIN_TOKEN") or None,
            field_encryption_key=_env("FIELD_ENCRYPTION_KEY") or None,
            field_hash_key=_env("FIELD_HASH_KEY") or None,
            dialog_ttl=timedelta(hours=float(_env("DIALOG_TTL_HOURS"))),
            user_rate_limit=_env("USER_RATE_LIMIT"),
            block_ids=json.loads(_env("KAKAO_BLOCK_IDS") or "{}"),
            call_centre=_env("CALL_CENTRE"),
            terms_url=_env("TERMS_URL"),
            operator_name=_env("OPERATOR_NAME"),
            public_base_url=_env("PUBLIC_BASE_URL").rstrip("/"),
            kakao_api_base=_env("KAKAO_API_BASE").rstrip("/"),
            kakao_rest_api_key=_env("KAKAO_REST_API_KEY") or None,
            kakao_admin_key=_env("KAKAO_ADMIN_KEY") or None,
            emulator_enabled=_bool("EMULATOR_ENABLED"),
            metrics_enabled=_bool("METRICS_ENABLED"),
            metrics_token=_env("METRICS_TOKEN") or None,
            chart_url_ttl_seconds=int(_env("CHART_URL_TTL_SECONDS")),
            chart_cache_seconds=int(_env("CHART_CACHE_SECONDS")),
            chart_secret=_env("CHART_SECRET") or None,
            chart_cache_dir=_env("CHART_CACHE_DIR") or None,
            secret_key=_env("SECRET_KEY") or None,
            dashboard_session_hours=float(_env("DASHBOARD_SESSION_HOURS")),
            log_format=_env("LOG_FORMAT"),
            log_level=_env("LOG_LEVEL"),
            push=PushSettings.from_env(_env),
            extra={k: v for k, v in os.environ.items() if k.startswith(("PUSH_", "EVENT_", "SCHEDULE_", "QUIET_", "CHART_", "METRICS_"))},
        )

    def problems(self) -> list[str]:
        """Settings that make the server unsafe to start."""
        out = []
        if self.skill_secret_required and not self.skill_secret:
            out.append("SKILL_SECRET is not set (or set SKILL_SECRET_REQUIRED=false for a closed test setup)")
        if self.bot_id_check and not self.kakao_bot_id:
            out.append("KAKAO_BOT_ID is not set (or set BOT_ID_CHECK=false)")
        if not self.field_encryption_key or not self.field_hash_key:
            out.append("FIELD_ENCRYPTION_KEY and FIELD_HASH_KEY must be set (flask --app webhooks cpoint gen-keys)")
        return out
