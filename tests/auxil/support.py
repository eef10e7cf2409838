"""Test helpers shared by every test module: constants, test Settings, realistic Kakao
payloads and a client that talks to the skill endpoints like Open Builder.

Import as `from tests.auxil.support import ...`."""
from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

from core.clock import KST

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KAKAO = FIXTURES / "kakao"
BOT_ID = "660c83a8ad9bb98ef71a0bd6"
SECRET = "test-skill-secret"
ADMIN_TOKEN = "test-admin-token"
ENC_KEY = "0FcZ0xqgWRg3n2Oc0dJmXl2zp7x3Rj7gJvdQ4tTnq0k="
HASH_KEY = "test-hash-key"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=KST)


TEST_ENV = {
    "DATABASE_URL": "sqlite://", "SKILL_SECRET": SECRET, "KAKAO_BOT_ID": BOT_ID, "ADMIN_TOKEN": ADMIN_TOKEN,
    "FIELD_ENCRYPTION_KEY": ENC_KEY, "FIELD_HASH_KEY": HASH_KEY, "KAKAO_ADMIN_KEY": "test-kakao-admin-key",
    "KAKAO_REST_API_KEY": "test-rest-key", "KAKAO_API_BASE": "http://kakao.test", "LOG_FORMAT": "json",
    "USER_RATE_LIMIT": "off",  # scenario tests send turns faster than people
    "UNMATCHED_FLUSH_SECONDS": "0",  # the queue is written at once, so a test sees it
}


LOG_CLOCK_FIELDS = frozenset({"created", "msecs", "relativeCreated"})
# Random hex ids drawn for each request or push batch: any four digits turn up in them now and then.
LOG_RANDOM_FIELDS = frozenset({"request_id", "batch_id"})


def record_text(record) -> str:
    """A log record's message and every field of it as JSON, but for the logging module's own
    clock readings and the random ids: a float such as relativeCreated 199093.4796333313 or an
    id such as 5312043746b4… may hold any digits, and never citizen input (what the privacy
    tests search records for)."""
    fields = {k: v for k, v in record.__dict__.items() if k not in LOG_CLOCK_FIELDS | LOG_RANDOM_FIELDS}
    return record.getMessage() + json.dumps(fields, default=str, ensure_ascii=False)


def make_config(**overrides):
    """Test Settings, read like production from an environment: TEST_ENV with `overrides`
    (by environment name in any case, e.g. chart_secret="x"; None unsets one). The process
    environment is not read."""
    from webhooks.config import Settings, rows

    known = {name for name, _default, _meaning in rows()}
    env = dict(TEST_ENV)
    for k, v in overrides.items():
        name = k.upper()
        if name not in known:
            raise KeyError(f"no setting is named {name}")
        if v is None:
            env.pop(name, None)
        elif isinstance(v, bool):
            env[name] = "true" if v else "false"
        else:
            env[name] = json.dumps(v) if isinstance(v, dict) else str(v)
    cfg = Settings.from_env(env)
    cfg.bot.strict_responses = True  # a bad reply fails the test instead of being replaced
    return cfg


def load_fixture(name: str) -> dict:
    return json.loads((KAKAO / name).read_text(encoding="utf-8"))


def make_payload(user_key: str = "u-test-0001", utterance: str = "", skill: str = "fallback",
                 client_extra: dict | None = None, bot_id: str = BOT_ID, trigger: str = "TEXT_INPUT",
                 app_user_id: str | None = None, is_friend: bool = True) -> dict:
    """A realistic SkillPayload built like the shared fixtures."""
    props = {"botUserKey": user_key, "plusfriendUserKey": "pf-" + user_key[-8:]}
    if is_friend:
        props["isFriend"] = True
    if app_user_id:
        props["appUserId"] = app_user_id
    return {
        "intent": {"id": f"blk-{skill}", "name": skill},
        "userRequest": {
            "timezone": "Asia/Seoul", "params": {"surface": "Kakaotalk.plusfriend"},
            "block": {"id": f"blk-{skill}", "name": skill}, "utterance": utterance, "lang": "ko",
            "user": {"id": user_key, "type": "botUserKey", "properties": props},
        },
        "bot": {"id": bot_id, "name": "탄소중립포인트 도우미"},
        "action": {"id": f"act-{skill}", "name": skill, "params": {}, "detailParams": {},
                   "clientExtra": client_extra},
        "contexts": [],
        "flow": {"trigger": {"type": trigger}},
    }


class Kakao:
    """Talks to the skill endpoints the way Open Builder does."""

    def __init__(self, client):
        self.client = client

    def post(self, skill: str, payload, *, secret: str | None = SECRET, headers: dict | None = None,
             raw: bytes | None = None):
        h = {"Content-Type": "application/json"}
        if secret is not None:
            h["X-Skill-Secret"] = secret
        h.update(headers or {})
        data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        return self.client.post(f"/kakao/skills/{skill}", data=data, headers=h)

    def say(self, user_key: str, utterance: str, skill: str = "fallback", **kw) -> dict:
        """Free text (arrives on the fallback skill unless told otherwise); returns the reply."""
        resp = self.post(skill, make_payload(user_key, utterance, skill, **kw))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()

    def tap(self, user_key: str, skill: str, label: str, extra: dict, **kw) -> dict:
        """A quick-reply or button tap carrying `extra` as clientExtra."""
        kw.setdefault("trigger", "QUICKREPLY_BUTTON_BLOCK")
        resp = self.post(skill, make_payload(user_key, label, skill, client_extra=extra, **kw))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()


def reply_texts(reply: dict) -> str:
    """Every text a reply shows, joined, for assertions."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("text", "title", "description", "label", "messageText") and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(copy.deepcopy(reply))
    return "\n".join(out)


def quick_reply_labels(reply: dict) -> list[str]:
    return [q["label"] for q in reply.get("template", {}).get("quickReplies", [])]


def wipe(db) -> None:
    """Empty every table (the `db` fixture does this around each test)."""
    from sqlalchemy import text
    from sqlalchemy.schema import sort_tables

    from core.db import Base
    from core.models.references import table_dependencies

    # children before parents, counting the references that triggers check (no foreign key)
    tables = list(reversed(sort_tables(Base.metadata.tables.values(),
                                       extra_dependencies=table_dependencies(Base.metadata.tables))))
    with db.engine.begin() as conn:
        if db.is_postgres:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())
