"""Property-based: generated and mutated payloads never produce a 5xx, and every 200 is valid v2.0."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kakao.validate import validate_response
from tests.auxil.support import KAKAO, load_fixture

SKILLS = ["welcome", "signup", "balance", "campaigns", "greenlife", "myinfo", "help", "fallback", "notice"]
BASES = [load_fixture(p.name) for p in sorted(KAKAO.glob("*.json"))]

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                      st.text(max_size=40), st.sampled_from(["", "취소", "처음으로", "가입", "포인트", "900101-1234567",
                                                              "도움말", "0419283746", "서울특별시 중구"]))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


@st.composite
def mutated_payloads(draw):
    payload = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        all_paths = [p for p in paths(payload) if p]
        if not all_paths:
            break
        path = draw(st.sampled_from(all_paths))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_value)
    return payload


def check(kakao, skill, payload):
    resp = kakao.post(skill, payload)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.status_code in (200, 400, 403, 413)
    if resp.status_code == 200:
        assert validate_response(resp.get_json()) == []
    else:
        assert "error" in resp.get_json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skill=st.sampled_from(SKILLS), payload=mutated_payloads())
def test_mutated_fixtures_never_5xx(kakao, skill, payload):
    check(kakao, skill, payload)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skill=st.sampled_from(SKILLS), payload=json_value)
def test_arbitrary_json_never_5xx(kakao, skill, payload):
    check(kakao, skill, payload)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skill=st.sampled_from(SKILLS), utterance=st.text(max_size=300), extra=json_value)
def test_any_utterance_and_client_extra(kakao, skill, utterance, extra):
    payload = copy.deepcopy(BASES[0])
    payload["userRequest"]["utterance"] = utterance
    payload.setdefault("action", {})["clientExtra"] = extra
    check(kakao, skill, payload)
