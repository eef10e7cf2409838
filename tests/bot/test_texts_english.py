"""Every Korean reply text has an English twin in bot/texts/en/ with the same placeholders, and
every word list people type has an English one (issue 14)."""
from __future__ import annotations

import string

import pytest

from bot import texts

# Korean-only spelling data of understanding (typed Korean is folded with it in any chat).
KOREAN_ONLY = {"spellings", "synonyms"}
# Examples of understanding: an English intent has examples, not the Korean table's shape.
NOT_PARALLEL = {"intents"}
WORD_LISTS = {"answers", "keywords"}
LABEL_MAX = 14  # Kakao: quick-reply and button labels


def leaves(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, node


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


PARALLEL = sorted(set(texts.areas("ko")) - KOREAN_ONLY - NOT_PARALLEL)


@pytest.mark.parametrize("area", PARALLEL)
def test_every_korean_key_has_an_english_twin(area):
    ko = dict(leaves(texts.raw(area, lang="ko")))
    en = dict(leaves(texts.raw(area, lang="en")))
    assert sorted(set(ko) - set(en)) == [], f"{area}: keys without an English text"
    assert sorted(set(en) - set(ko)) == [], f"{area}: English keys with no Korean text"
    for key, value in ko.items():
        assert type(en[key]) is type(value), f"{area}.{key}: not the same kind of value"
        if isinstance(value, str):
            assert placeholders(en[key]) == placeholders(value), f"{area}.{key}: placeholders differ"
        if isinstance(value, list):
            assert en[key], f"{area}.{key}: no English words"


def test_english_labels_fit_kakao():
    too_long = []
    for area in PARALLEL:
        if area in WORD_LISTS:
            continue
        for key, value in leaves(texts.raw(area, lang="en")):
            last = key.rsplit(".", 1)[-1]
            if isinstance(value, str) and (last.endswith("_label") or key.startswith("menu.")) and len(value) > LABEL_MAX:
                too_long.append(f"{area}.{key}: {value!r}")
    assert too_long == []


def test_the_english_area_list_matches_korean():
    assert set(texts.areas("en")) == set(PARALLEL) | NOT_PARALLEL


def test_every_intent_has_an_english_label_that_fits():
    ko, en = texts.raw("intents", lang="ko"), texts.raw("intents", lang="en")
    assert sorted(set(ko) - {i for i, table in en.items() if table.get("label")}) == []
    assert [i for i, table in en.items() if len(table["label"]) > LABEL_MAX] == []
