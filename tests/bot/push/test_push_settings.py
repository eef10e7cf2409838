"""Push settings: declared once (bot.push.settings), read from the environment by name and
checked at start."""
from __future__ import annotations

import pytest

from bot.push.settings import PushSettings
from webhooks.config import Settings, rows


def test_every_push_setting_is_in_the_readme_table():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [env for env, *_ in rows(only="push") if f"`{env}`" not in readme]
    assert missing == [] and len(rows(only="push")) == 29


def test_from_env_reads_values():
    cfg = Settings.from_env({"PUSH_RATE_PER_SEC": "250", "UNCERTAIN_POLICY": "Resend ",
                             "QUIET_HOURS": "20:30-09:00", "EVENT_NAME_CAMPAIGN": "campaign_v2"})
    assert cfg.push.rate_per_sec == 250 and cfg.push.uncertain_policy == "resend"
    assert str(cfg.push.quiet()) == "20:30-09:00" and cfg.push.event_name("campaign") == "campaign_v2"
    assert cfg.push.event_name("payout_reminder") == cfg.push.event_name("payout_notice")


def test_from_env_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("PUSH_BATCH_SIZE", "50")
    monkeypatch.setenv("SCHEDULE_MONTHLY_SOURCE", "scheduler_probe:record")
    cfg = Settings.from_env()
    assert cfg.push.batch_size == 50 and cfg.push.monthly_source == "scheduler_probe:record"
    assert Settings().push.batch_size == 50  # pydantic-settings' own entry reads the same names


@pytest.mark.parametrize("name,value,message", [
    ("PUSH_BATCH_SIZE", "101", "PUSH_BATCH_SIZE"),
    ("PUSH_BATCH_SIZE", "ten", "PUSH_BATCH_SIZE"),
    ("PUSH_RATE_PER_SEC", "0", "PUSH_RATE_PER_SEC"),
    ("UNCERTAIN_POLICY", "maybe", "UNCERTAIN_POLICY"),
    ("QUIET_HOURS", "9pm-8am", "quiet hours"),
    ("SCHEDULE_MONTHLY_DAY", "31", "SCHEDULE_MONTHLY_DAY"),
    ("PUSH_SENDER_LEASE_SEC", "5", "PUSH_SENDER_LEASE_SEC"),
    ("EVENT_TASK_PATH", "/v1/tasks/", "EVENT_TASK_PATH"),
    ("SCHEDULE_MONTHLY_SOURCE", "core.monthly", "SCHEDULE_MONTHLY_SOURCE"),
])
def test_bad_values_stop_the_process_naming_the_setting(name, value, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env({name: value})


def test_dataclass_checks_too():
    with pytest.raises(ValueError):
        PushSettings(batch_size=0)
