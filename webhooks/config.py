"""The settings: one typed object read from environment variables (a `.env` file may supply
them) and validated at start.

Each layer declares the group it uses, next to its code: the conversation
(bot.context.BotSettings), the Event API and the pushes (bot.push.settings); the edge's own
settings are declared here. `Settings` composes them. Every field names its environment
variable, so operators' `.env` files keep working whatever the shape of the model.

README.md's settings tables are generated from the model:

    python -m webhooks.config --markdown     print them
    python -m webhooks.config --readme       rewrite them in README.md (a test fails when stale)
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.context import BotSettings
from bot.push.settings import EventApiSettings, PushSettings
from core.csv_screening import ImportSettings
from core.settings import env_name, fields_of, setting
from webhooks.operator_settings import OperatorSettings

_GROUP = ConfigDict(validate_assignment=True, str_strip_whitespace=True)
LOCAL_STANDIN_KEY = "local-standin"  # the KAKAO_REST_API_KEY scripts/run writes for its loopback stand-in


class ChartSettings(BaseModel):
    model_config = _GROUP

    url_ttl_seconds: int = setting("CHART_URL_TTL_SECONDS", 86400, "How long a usage chart URL works (it is signed, opaque and expires).", ge=60, le=90 * 86400)
    cache_seconds: int = setting("CHART_CACHE_SECONDS", 3600, "How long a rendered usage chart PNG is reused before it is drawn again.", ge=0, le=90 * 86400)
    cache_dir: str | None = setting("CHART_CACHE_DIR", None, "Directory of rendered chart PNGs; may be shared by web processes.", shown="`instance/charts`")
    secret: str | None = setting("CHART_SECRET", None, "Key of the chart URL tokens.", secret=True, shown="derived from `FIELD_HASH_KEY`")


class DashboardSettings(BaseModel):
    model_config = _GROUP

    secret_key: str | None = setting("SECRET_KEY", None, "Flask session key (dashboard login cookie).", secret=True, shown="derived from `FIELD_HASH_KEY`")
    session_hours: float = setting("DASHBOARD_SESSION_HOURS", 8.0, "How long a dashboard login lasts.", gt=0, le=24 * 30)


class DatabaseSettings(BaseModel):
    """How long the database may keep a process waiting. A web process answers Kakao within
    5 seconds, so its limits stay below that; the scheduler and operator commands (settlement,
    imports) take the batch ones."""

    model_config = _GROUP

    connect_timeout_sec: float = setting("DB_CONNECT_TIMEOUT_SEC", 2.0, "PostgreSQL connect timeout (whole seconds, at least 2).", ge=1, le=4.5)
    statement_timeout_sec: float = setting("DB_STATEMENT_TIMEOUT_SEC", 2.5, "Web processes: PostgreSQL statement_timeout (lock waits included).", gt=0, le=4.5)
    pool_timeout_sec: float = setting("DB_POOL_TIMEOUT_SEC", 1.0, "Web processes: wait at most this long for a pooled connection.", gt=0, le=4.5)
    sqlite_busy_timeout_sec: float = setting("SQLITE_BUSY_TIMEOUT_SEC", 2.5, "Web processes: SQLite waits this long for a lock.", gt=0, le=4.5)
    batch_statement_timeout_sec: float = setting("DB_BATCH_STATEMENT_TIMEOUT_SEC", 0.0, "Scheduler and `cpoint` commands: PostgreSQL statement_timeout; 0: none (settlement statements run long).", ge=0, le=86400)
    batch_busy_timeout_sec: float = setting("DB_BATCH_BUSY_TIMEOUT_SEC", 30.0, "Scheduler and `cpoint` commands: SQLite waits this long for a lock.", gt=0, le=3600)

    def deadlines(self, *, web: bool):
        from core.db import Deadlines

        if web:
            return Deadlines(connect=self.connect_timeout_sec, statement=self.statement_timeout_sec,
                             pool=self.pool_timeout_sec, busy=self.sqlite_busy_timeout_sec)
        return Deadlines(connect=max(self.connect_timeout_sec, 10.0), statement=self.batch_statement_timeout_sec or None,
                         pool=30.0, busy=self.batch_busy_timeout_sec)


class LogSettings(BaseModel):
    model_config = _GROUP

    format: Literal["json", "text"] = setting("LOG_FORMAT", "json", "json (one object per line, a request id per skill call) or text.")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = setting("LOG_LEVEL", "INFO", "Python log level.")

    @field_validator("format", "level", mode="before")
    @classmethod
    def _case(cls, value, info):
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "level" else value.strip().lower()


class SettingsError(click.ClickException, ValueError):
    """Settings that are missing or invalid; the message names each environment variable.
    (A ClickException, so the `flask` CLI prints it without a traceback.)"""


def _collect(model: type, environ: Mapping[str, str]) -> dict[str, Any]:
    """Environment values by field, nested like the model; empty values count as unset."""
    out: dict[str, Any] = {}
    for name, info in fields_of(model).items():
        env = env_name(info)
        if env is not None:
            raw = environ.get(env)
            if raw is not None and raw.strip() != "":
                out[name] = raw.strip()
        elif fields_of(info.annotation):
            sub = _collect(info.annotation, environ)
            if sub:
                out[name] = sub
    return out


# The environment Settings.from_env was given (tests pass a dict; None: os.environ).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("cpoint_environ", default=None)


class _NamedEnv(PydanticBaseSettingsSource):
    """Reads each field from the environment variable it names (nested groups included)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        environ = _ENVIRON.get()
        return _collect(self.settings_cls, os.environ if environ is None else environ)


def _env_of(loc: tuple) -> str:
    """`('push', 'batch_size')` -> 'PUSH_BATCH_SIZE' (a check across a group: the group)."""
    model: type = Settings
    for part in loc:
        info = fields_of(model).get(part) if isinstance(part, str) else None
        if info is None:
            break
        env = env_name(info)
        if env is not None:
            return env
        model = info.annotation
    return ".".join(str(p) for p in loc) or "settings"


def _explain(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        shown = err.get("input")
        got = f" (got {shown!r})" if isinstance(shown, (str, int, float)) else ""
        lines.append(f"{_env_of(err['loc'])}: {msg}{got}")
    return lines


class Settings(BaseSettings):
    """Everything the processes read from the environment. The edge's own settings are
    fields here; the groups belong to the layers that use them."""

    model_config = SettingsConfigDict(validate_assignment=True, str_strip_whitespace=True, extra="forbid")

    database_url: str | None = setting("DATABASE_URL", None, "SQLAlchemy URL; PostgreSQL: `postgresql+psycopg://user:pw@host/db`.", shown="`sqlite:///instance/cpoint.db`")
    # The skill endpoint (webhooks/routes/skills.py)
    skill_secret: str | None = setting("SKILL_SECRET", None, "Shared secret Open Builder sends in the skill header (헤더값 입력). Required while SKILL_SECRET_REQUIRED is on.", secret=True)
    skill_secret_header: str = setting("SKILL_SECRET_HEADER", "X-Skill-Secret", "Name of that header.", pattern=r"^[A-Za-z0-9-]+$")
    skill_secret_required: bool = setting("SKILL_SECRET_REQUIRED", True, "Check the skill header (401 when missing or wrong).")
    bot_id_check: bool = setting("BOT_ID_CHECK", True, "Refuse skill requests of another bot (403).")
    max_body_bytes: int = setting("MAX_BODY_BYTES", 65536, "Largest skill request body accepted (413 above).", ge=1024, le=16 * 1024 * 1024)
    user_rate_limit: str = setting("USER_RATE_LIMIT", "20/10s", "Turns one user may send per window (e.g. 20/10s, 60/m); `off` disables. Counted per web process.")
    # Personal data
    field_encryption_key: str | None = setting("FIELD_ENCRYPTION_KEY", None, "Fernet key(s), comma-separated (first encrypts, all decrypt: rotation) for customer numbers and bank accounts. `flask --app webhooks cpoint gen-keys` prints new ones. Required.", secret=True)
    field_hash_key: str | None = setting("FIELD_HASH_KEY", None, "Key of the keyed hash that finds customer numbers and households. Required.", secret=True)
    # Operators and Kakao
    admin_token: str | None = setting("ADMIN_TOKEN", None, "Bootstrap only: while no operator exists, `POST /admin/api/bootstrap` with this bearer token creates the first national admin. Operators then log in by name and use their own API tokens (`cpoint operator ...`).", secret=True)
    kakao_admin_key: str | None = setting("KAKAO_ADMIN_KEY", None, "Primary admin key: authenticates the channel add/block webhook.", secret=True)
    emulator_enabled: bool = setting("EMULATOR_ENABLED", False, "Serve the local chat emulator at /emulator (`scripts/run` turns it on).")
    metrics_enabled: bool = setting("METRICS_ENABLED", True, "Serve Prometheus metrics at /metrics.")
    metrics_token: str | None = setting("METRICS_TOKEN", None, "When set, /metrics needs `Authorization: Bearer <token>`.", secret=True)

    bot: BotSettings = Field(default_factory=BotSettings)
    event_api: EventApiSettings = Field(default_factory=EventApiSettings)
    charts: ChartSettings = Field(default_factory=ChartSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    operators: OperatorSettings = Field(default_factory=OperatorSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    # Operator imports (core.csv_screening): plausibility bounds
    imports: ImportSettings = Field(default_factory=ImportSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return init_settings, _NamedEnv(settings_cls)

    @field_validator("user_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.lower() in ("off", "0", "false"):
            return value
        from bot.ratelimit import parse_rate

        try:
            turns, seconds = parse_rate(value)
        except (ValueError, IndexError):
            turns = seconds = 0
        if turns < 1 or not seconds > 0:
            raise ValueError("must look like 20/10s, 60/m or off")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting (os.environ by default); SettingsError names each
        bad one."""
        token = _ENVIRON.set(environ)
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError("invalid settings:\n" + "\n".join(f"- {line}" for line in _explain(exc))) from None
        finally:
            _ENVIRON.reset(token)

    # The skill check reads the bot id here; it is the Event API group's (pushes need it too).
    @property
    def kakao_bot_id(self) -> str | None:
        return self.event_api.bot_id

    @kakao_bot_id.setter
    def kakao_bot_id(self, value: str | None) -> None:
        self.event_api.bot_id = value

    def problems(self) -> list[str]:
        """Settings without which citizens cannot be served (create_app refuses to serve)."""
        out = []
        if self.skill_secret_required and not self.skill_secret:
            out.append("SKILL_SECRET is not set (or set SKILL_SECRET_REQUIRED=false for a closed test setup)")
        if self.bot_id_check and not self.kakao_bot_id:
            out.append("KAKAO_BOT_ID is not set (or set BOT_ID_CHECK=false)")
        missing = [n for n, v in (("FIELD_ENCRYPTION_KEY", self.field_encryption_key),
                                  ("FIELD_HASH_KEY", self.field_hash_key)) if not v]
        if missing:
            out.append(f"{' and '.join(missing)} must be set (flask --app webhooks cpoint gen-keys prints new keys)")
        else:
            from core.crypto import FieldCipher

            try:
                FieldCipher(self.field_encryption_key, self.field_hash_key).encrypt("check")
            except Exception:  # noqa: BLE001 - any failure means the key is unusable
                out.append("FIELD_ENCRYPTION_KEY is not a valid Fernet key (flask --app webhooks cpoint gen-keys)")
        return out


    def production_review(self) -> tuple[list[str], list[str]]:
        """(unsafe, doubtful) for a public server: `check-config` fails on the first, warns on
        the second."""
        unsafe, doubtful = [], []
        if self.emulator_enabled:
            unsafe.append("EMULATOR_ENABLED is on: /emulator and /dev/kakao answer anyone (local use only)")
        if self.metrics_enabled and not self.metrics_token:
            unsafe.append("/metrics is open: set METRICS_TOKEN (or METRICS_ENABLED=false)")
        if not self.bot.public_base_url.startswith("https://"):
            unsafe.append(f"PUBLIC_BASE_URL is not https ({self.bot.public_base_url})")
        if not self.kakao_admin_key:
            unsafe.append("KAKAO_ADMIN_KEY is not set: the channel webhook cannot authenticate Kakao")
        if not self.skill_secret_required:
            unsafe.append("SKILL_SECRET_REQUIRED is off: anyone can call the skills")
        if not self.bot_id_check:
            doubtful.append("BOT_ID_CHECK is off: requests of any bot are answered")
        for env, value in (("SKILL_SECRET", self.skill_secret), ("ADMIN_TOKEN", self.admin_token),
                           ("METRICS_TOKEN", self.metrics_token)):
            if value and len(value) < 16:
                doubtful.append(f"{env} is shorter than 16 characters")
        if not self.admin_token:
            doubtful.append("ADMIN_TOKEN is not set: the admin API and dashboard are closed")
        if not self.event_api.rest_api_key:
            doubtful.append("KAKAO_REST_API_KEY is not set: pushes stay pending")
        elif self.event_api.rest_api_key == LOCAL_STANDIN_KEY:
            unsafe.append("KAKAO_REST_API_KEY is the local placeholder scripts/run writes: Kakao refuses every push")
        if self.event_api.api_base.startswith(("http://127.", "http://localhost")):
            doubtful.append(f"KAKAO_API_BASE is a loopback stand-in ({self.event_api.api_base}): no push reaches KakaoTalk")
        if not self.database_url or self.database_url.startswith("sqlite"):
            doubtful.append("DATABASE_URL is SQLite: one machine only (PostgreSQL for several web processes)")
        if self.log.level == "DEBUG":
            doubtful.append("LOG_LEVEL is DEBUG")
        return unsafe, doubtful


# -- README tables ---------------------------------------------------------------------------

def rows(model: type = Settings, *, only: str | None = None, skip: str | None = None) -> list[tuple[str, str, str]]:
    """(env name, default as shown, meaning) of every setting, in declaration order; `only` /
    `skip` name a top-level group."""
    out = []
    for name, info in fields_of(model).items():
        if model is Settings and ((only and name != only) or (skip and name == skip)):
            continue
        env = env_name(info)
        if env is None:
            if fields_of(info.annotation):
                out += rows(info.annotation)
            continue
        shown = info.json_schema_extra.get("shown")
        default = info.get_default(call_default_factory=True)
        if shown is None:
            if default is None:
                shown = "—"
            elif isinstance(default, bool):
                shown = "true" if default else "false"
            elif isinstance(default, float) and default.is_integer():
                shown = str(int(default))
            elif isinstance(default, dict):
                shown = "{}" if not default else str(default)
            else:
                shown = str(default)
            shown = shown if shown == "—" else f"`{shown}`"
        out.append((env, shown, info.description or ""))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(table_rows: list[tuple[str, str, str]]) -> str:
    lines = ["| Setting | Default | Meaning |", "|---|---|---|"]
    lines += [f"| `{env}` | {shown} | {_cell(meaning)} |" for env, shown, meaning in table_rows]
    return "\n".join(lines) + "\n"


# README.md holds each table between these markers.
TABLES = {"settings": dict(skip="push"), "push-settings": dict(only="push")}


def readme_tables() -> dict[str, str]:
    return {name: markdown(rows(**kw)) for name, kw in TABLES.items()}


def render_readme(text: str) -> str:
    for name, table in readme_tables().items():
        pattern = re.compile(rf"(<!-- {name}:begin .*?-->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no <!-- {name}:begin --> marker")
        text = pattern.sub(lambda m, table=table: m.group(1) + table + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    if argv == ["--markdown"]:
        for name, table in readme_tables().items():
            print(f"<!-- {name} -->\n{table}")
        return 0
    if argv == ["--readme"]:
        readme.write_text(render_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    print("usage: python -m webhooks.config --markdown | --readme", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
