"""Push settings: one table of names and defaults, checked at start."""
from __future__ import annotations

import pytest

from bot.push.settings import DEFINITIONS, PushSettings, defaults_match
from webhooks.config import SETTINGS, Config


def test_defaults_of_the_table_equal_the_dataclass():
    assert defaults_match() == []


def test_every_push_setting_is_listed_for_the_readme():
    names = {s.name for s in SETTINGS}
    assert {name for name, *_ in DEFINITIONS} <= names


def test_readme_lists_every_push_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [name for name, *_ in DEFINITIONS if f"`{name}`" not in readme]
    assert missing == []


def test_from_env_reads_values(monkeypatch, tmp_path):
    monkeypatch.setenv("PUSH_RATE_PER_SEC", "250")
    monkeypatch.setenv("UNCERTAIN_POLICY", "resend")
    monkeypatch.setenv("QUIET_HOURS", "20:30-09:00")
    monkeypatch.setenv("EVENT_NAME_CAMPAIGN", "campaign_v2")
    cfg = Config.from_env(tmp_path)
    assert cfg.push.rate_per_sec == 250 and cfg.push.uncertain_policy == "resend"
    assert str(cfg.push.quiet()) == "20:30-09:00" and cfg.push.event_name("campaign") == "campaign_v2"
    assert cfg.push.event_name("payout_reminder") == cfg.push.event_name("payout_notice")


@pytest.mark.parametrize("name,value,message", [
    ("PUSH_BATCH_SIZE", "101", "PUSH_BATCH_SIZE"),
    ("PUSH_BATCH_SIZE", "ten", "PUSH_BATCH_SIZE"),
    ("PUSH_RATE_PER_SEC", "0", "PUSH_RATE_PER_SEC"),
    ("UNCERTAIN_POLICY", "maybe", "UNCERTAIN_POLICY"),
    ("QUIET_HOURS", "9pm-8am", "quiet hours"),
    ("SCHEDULE_MONTHLY_DAY", "31", "SCHEDULE_MONTHLY_DAY"),
    ("PUSH_SENDER_LEASE_SEC", "5", "PUSH_SENDER_LEASE_SEC"),
    ("EVENT_TASK_PATH", "/v1/tasks/", "EVENT_TASK_PATH"),
])
def test_bad_values_stop_the_process_naming_the_setting(monkeypatch, tmp_path, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Config.from_env(tmp_path)


def test_dataclass_checks_too():
    with pytest.raises(ValueError):
        PushSettings(batch_size=0)
