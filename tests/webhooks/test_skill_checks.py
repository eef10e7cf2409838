"""Each check of webhooks.skill_checks on its own, without a request: what it accepts and how
it refuses (the endpoint tests pin the same answers through HTTP)."""
from __future__ import annotations

import io
import json

import pytest

from tests.auxil.support import BOT_ID, SECRET, make_config, make_payload
from webhooks import skill_checks as check


def refusal(fn, *args) -> tuple:
    with pytest.raises(check.Refused) as err:
        fn(*args)
    no = err.value
    return no.status, no.code, no.warn


def test_request_id_keeps_a_plain_token_and_replaces_anything_else():
    assert check.request_id({"HTTP_X_REQUEST_ID": "kakao-req.1_2"}) == "kakao-req.1_2"
    for given in (None, "", "has space", "x" * 65, "줄바꿈\n"):
        environ = {} if given is None else {"HTTP_X_REQUEST_ID": given}
        rid = check.request_id(environ)
        assert rid != given and len(rid) == 32 and int(rid, 16) >= 0


def test_request_id_never_holds_what_the_logs_would_mask_as_a_resident_number(monkeypatch):
    rrn_shaped = "71a9001011234567aef8c63a1ea2d3d4"  # 900101-1234567 among hex letters
    assert check.request_id({"HTTP_X_REQUEST_ID": rrn_shaped}) != rrn_shaped
    tokens = iter([rrn_shaped, "0e0519037ee4a67609a873c9c5b1f8ce"])
    monkeypatch.setattr("core.pii.secrets.token_hex", lambda n: next(tokens))
    assert check.request_id({}) == "0e0519037ee4a67609a873c9c5b1f8ce"


def test_known_skill():
    assert check.known_skill("help") == "help"
    assert refusal(check.known_skill, "nosuchskill") == (404, "unknown_skill", None)


@pytest.mark.parametrize("size", [None, 0, 10, 100])
def test_within_size_accepts_up_to_the_limit(size):
    check.within_size(size, 100)


def test_within_size_refuses_one_byte_more():
    assert refusal(check.within_size, 101, 100) == (413, "body_too_large", None)


def test_skill_secret_accepts_the_configured_header():
    check.skill_secret(make_config(), {"HTTP_X_SKILL_SECRET": SECRET})
    custom = make_config(skill_secret_header="X-Other-Secret")
    check.skill_secret(custom, {"HTTP_X_OTHER_SECRET": SECRET})


@pytest.mark.parametrize("environ", [{}, {"HTTP_X_SKILL_SECRET": ""}, {"HTTP_X_SKILL_SECRET": SECRET + " "},
                                     {"HTTP_X_OTHER_SECRET": SECRET}])
def test_skill_secret_refuses_a_missing_or_wrong_header(environ):
    assert refusal(check.skill_secret, make_config(), environ) == (401, "unauthorized", "skill secret rejected")


def test_skill_secret_can_be_switched_off():
    check.skill_secret(make_config(skill_secret_required=False), {})


def test_read_body_reads_the_declared_length_and_no_further():
    environ = {"wsgi.input": io.BytesIO(b"{}next request")}
    assert check.read_body(environ, 2, 100) == b"{}"
    assert check.read_body(environ, 0, 100) == b""


def test_read_body_without_a_length_reads_one_byte_past_the_limit():
    environ = {"wsgi.input": io.BytesIO(b"a" * 500), "wsgi.input_terminated": True}
    assert len(check.read_body(environ, None, 100)) == 101


def test_json_body_parses_json_even_beyond_orjson():
    assert check.json_body(b'{"a": 1}') == {"a": 1}
    assert check.json_body(b'{"n": 1e400}') == {"n": float("inf")}  # orjson refuses it


@pytest.mark.parametrize("raw", [b"not json", b"", b"{", "\ud55c".encode("utf-8")[:2]])
def test_json_body_refuses_what_is_not_json(raw):
    assert refusal(check.json_body, raw) == (400, "bad_json", None)


@pytest.mark.parametrize("bot_id", [BOT_ID, BOT_ID + "!"])
def test_bot_id_accepts_ours_and_the_development_channel(bot_id):
    check.bot_id(make_config(), make_payload(bot_id=bot_id))


@pytest.mark.parametrize("payload", [make_payload(bot_id="someone-elses-bot"), {"bot": "x"}, {}, [1, 2], None])
def test_bot_id_refuses_any_other(payload):
    assert refusal(check.bot_id, make_config(), payload) == (403, "wrong_bot", "bot id rejected")


def test_bot_id_can_be_switched_off():
    check.bot_id(make_config(bot_id_check=False), {})


def test_turn_of_parses_the_payload():
    turn = check.turn_of(make_payload("u-check", "도움말"), "help")
    assert (turn.user_key, turn.utterance, turn.skill) == ("u-check", "도움말", "help")


@pytest.mark.parametrize("payload", [[1, 2], None, json.loads('{"userRequest": {}}')])
def test_turn_of_refuses_what_is_not_a_skill_request(payload):
    assert refusal(check.turn_of, payload, "fallback")[:2] == (400, "bad_payload")
