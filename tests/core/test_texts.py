"""core.texts: the one loader of text and data files."""
from __future__ import annotations

import pytest

from core import texts
from core.texts import TextSet


def test_text_set_reads_dotted_keys_per_language(tmp_path):
    (tmp_path / "ko").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "ko" / "area.toml").write_text('hello = "안녕하세요, {name}님"\n[sub]\nlist = ["가", "나"]\n', encoding="utf-8")
    (tmp_path / "en" / "area.toml").write_text('hello = "Hello, {name}"\n', encoding="utf-8")
    ts = TextSet(tmp_path)
    assert ts.t("area.hello", name="홍길동") == "안녕하세요, 홍길동님"
    assert ts.t("area.hello", lang="en", name="Lan") == "Hello, Lan"
    assert ts.raw("area.sub.list") == ["가", "나"]
    assert ts.areas() == ["area"] and ts.dir("en") == tmp_path / "en"
    with pytest.raises(KeyError):
        ts.t("area.missing")
    with pytest.raises(KeyError):
        ts.t("nofile.hello")
    with pytest.raises(KeyError):
        ts.t("area.sub")  # a table is not a text


def test_bot_texts_build_on_the_core_loader():
    from bot import texts as bot_texts

    assert isinstance(bot_texts.TEXTS, TextSet)
    assert bot_texts.t("common.menu.help") == bot_texts.raw("common.menu")["help"]
    assert "common" in bot_texts.areas()


def test_core_texts_and_data_files_parse():
    for area in texts.areas():
        assert isinstance(texts.raw(area), dict)
    assert texts.data("demo", "citizens")
