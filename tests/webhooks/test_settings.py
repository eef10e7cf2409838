"""The settings object: one model, bounds checked at start, README's tables generated from it,
and an app that refuses to serve citizens without the settings they need."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask.cli import FlaskGroup

from tests.auxil.support import TEST_ENV, make_config
from webhooks.config import Settings, SettingsError, fields_of, render_readme, rows

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_tables_are_generated_from_the_model():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text) == text, "README.md is stale: run `python -m webhooks.config --readme`"


def test_every_setting_has_one_environment_name_and_a_meaning():
    names = [env for env, _default, _meaning in rows()]
    assert len(names) == len(set(names))
    assert all(meaning for _env, _default, meaning in rows())
    assert {"KAKAO_BOT_ID", "CALL_CENTRE", "PUSH_BATCH_SIZE", "CHART_SECRET", "LOG_LEVEL"} <= set(names)


def test_defaults_live_in_the_model():
    cfg = Settings.from_env({})
    assert cfg.bot.call_centre == "1660-2030" and cfg.bot.public_base_url == "http://localhost:5000"
    assert cfg.bot.terms_url == cfg.bot.website == "https://www.cpoint.or.kr"
    assert cfg.event_api.api_base == "https://bot-api.kakao.com" and cfg.kakao_bot_id is None
    assert cfg.max_body_bytes == 65536 and cfg.log.format == "json" and cfg.charts.url_ttl_seconds == 86400
    assert set(fields_of(Settings)) >= {"bot", "event_api", "push", "charts", "dashboard", "log"}


def test_values_are_parsed_and_empty_means_default():
    cfg = Settings.from_env({"KAKAO_BLOCK_IDS": '{"balance": "blk1"}', "DIALOG_TTL_HOURS": "1.5",
                             "PUBLIC_BASE_URL": "https://cpoint.example/", "BOT_ID_CHECK": "false",
                             "LOG_LEVEL": "warning", "CALL_CENTRE": ""})
    assert cfg.bot.block_ids == {"balance": "blk1"} and cfg.bot.dialog_ttl.total_seconds() == 5400
    assert cfg.bot.public_base_url == "https://cpoint.example" and cfg.bot_id_check is False
    assert cfg.log.level == "WARNING" and cfg.bot.call_centre == "1660-2030"


def test_every_bad_value_is_named_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MAX_BODY_BYTES": "lots", "LOG_FORMAT": "xml", "PUBLIC_BASE_URL": "cpoint.example",
                           "USER_RATE_LIMIT": "fast", "KAKAO_BLOCK_IDS": "{not json"})
    message = caught.value.message
    for name in ("MAX_BODY_BYTES", "LOG_FORMAT", "PUBLIC_BASE_URL", "USER_RATE_LIMIT", "KAKAO_BLOCK_IDS"):
        assert name in message


def test_app_refuses_to_serve_without_the_field_keys(clock):
    from webhooks import create_app

    with pytest.raises(SettingsError) as caught:
        create_app(make_config(field_encryption_key=None, field_hash_key=None), clock=clock)
    assert "FIELD_ENCRYPTION_KEY and FIELD_HASH_KEY must be set" in caught.value.message
    with pytest.raises(SettingsError, match="FIELD_ENCRYPTION_KEY is not a valid Fernet key"):
        create_app(make_config(field_encryption_key="not-a-key"), clock=clock)


def test_app_refusal_names_each_missing_setting(clock):
    from webhooks import create_app

    with pytest.raises(SettingsError) as caught:
        create_app(make_config(skill_secret=None, kakao_bot_id=None, field_hash_key=None), clock=clock)
    message = caught.value.message
    assert "SKILL_SECRET is not set" in message and "KAKAO_BOT_ID is not set" in message
    assert "FIELD_HASH_KEY must be set" in message and "FIELD_ENCRYPTION_KEY and" not in message


def _flask_cli(cfg, clock):
    """`flask --app webhooks ...` as the operator runs it: the app is loaded by the CLI."""
    from webhooks import create_app

    return FlaskGroup(create_app=lambda: create_app(cfg, clock=clock))


def test_gen_keys_and_check_config_run_without_keys(clock):
    from click.testing import CliRunner

    cli = _flask_cli(make_config(field_encryption_key=None, field_hash_key=None), clock)
    result = CliRunner().invoke(cli, ["cpoint", "gen-keys"])
    assert result.exit_code == 0, result.output
    assert "FIELD_ENCRYPTION_KEY=" in result.output and "FIELD_HASH_KEY=" in result.output
    check = CliRunner().invoke(cli, ["cpoint", "check-config"])
    assert check.exit_code == 1 and "FIELD_ENCRYPTION_KEY" in check.output


def test_flask_run_refuses_without_keys(clock):
    from click.testing import CliRunner

    cli = _flask_cli(make_config(field_encryption_key=None, field_hash_key=None), clock)
    result = CliRunner().invoke(cli, ["run", "--host", "127.0.0.1", "--port", "1"])
    assert result.exit_code != 0
    assert "FIELD_ENCRYPTION_KEY" in result.output


def test_make_config_reads_no_process_environment(monkeypatch):
    monkeypatch.setenv("CALL_CENTRE", "000")
    assert make_config().bot.call_centre == "1660-2030" and TEST_ENV["USER_RATE_LIMIT"] == "off"


def _check_config(cfg, clock):
    from click.testing import CliRunner

    return CliRunner().invoke(_flask_cli(cfg, clock), ["cpoint", "check-config"])


SAFE = dict(emulator_enabled=False, metrics_token="m" * 24, public_base_url="https://cpoint.example.kr",
            kakao_admin_key="k" * 32, skill_secret="s" * 24, admin_token="a" * 24,
            database_url="postgresql+psycopg://cpoint@db/cpoint")


def test_check_config_passes_a_safe_production_setup(clock):
    check = _check_config(make_config(**SAFE), clock)
    assert check.exit_code == 0, check.output
    assert check.output.strip() == "configuration ok"


@pytest.mark.parametrize("change, says", [
    (dict(emulator_enabled=True), "EMULATOR_ENABLED"),
    (dict(metrics_token=None), "/metrics is open"),
    (dict(public_base_url="http://cpoint.example.kr"), "PUBLIC_BASE_URL is not https"),
    (dict(kakao_admin_key=None), "KAKAO_ADMIN_KEY"),
    (dict(skill_secret_required=False), "SKILL_SECRET_REQUIRED"),
    (dict(kakao_rest_api_key="local-standin"), "KAKAO_REST_API_KEY is the local placeholder"),
])
def test_check_config_fails_on_unsafe_production_settings(clock, change, says):
    check = _check_config(make_config(**{**SAFE, **change}), clock)
    assert check.exit_code == 1 and f"- {says}" in check.output, check.output


@pytest.mark.parametrize("change, says", [
    (dict(database_url=None), "DATABASE_URL is SQLite"),
    (dict(admin_token="short"), "ADMIN_TOKEN is shorter"),
    (dict(log_level="DEBUG"), "LOG_LEVEL is DEBUG"),
    (dict(bot_id_check=False), "BOT_ID_CHECK is off"),
    (dict(kakao_api_base="http://127.0.0.1:5000/dev/kakao"), "KAKAO_API_BASE is a loopback stand-in"),
])
def test_check_config_warns_on_doubtful_settings(clock, change, says):
    check = _check_config(make_config(**{**SAFE, **change}), clock)
    assert check.exit_code == 0 and f"warning: {says}" in check.output, check.output
