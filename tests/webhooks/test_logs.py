"""Structured logs: the turn line's direct path writes what the JSON formatter writes, and
steps aside for the logging module whenever anything else listens."""
from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timezone

from bot.app import TurnLog
from webhooks.logs import JsonFormatter, TurnLine, _ts

FIELDS = {"outcome": "ok", "ms": 1.5, "utterance": "제 번호는 900101-1234567 이에요"}


def _isolated(monkeypatch, stream):
    """A logger tree like webhooks.logs.configure makes, with nothing else on the root."""
    monkeypatch.setattr(logging.root, "handlers", [])
    parent = logging.getLogger("cpointlogtest")
    handler = logging.StreamHandler(stream)
    handler._cpoint = True
    handler.setFormatter(JsonFormatter())
    monkeypatch.setattr(parent, "handlers", [handler])
    parent.setLevel(logging.INFO)
    logger = logging.getLogger("cpointlogtest.bot")
    return TurnLine(logger.name), TurnLog(logger, {"request_id": "rid-1", "user": "abcd…", "skill": "help"})


def test_the_direct_turn_line_is_what_the_formatter_writes(monkeypatch):
    stream = io.StringIO()
    line, adapter = _isolated(monkeypatch, stream)
    assert line._direct_handler() is not None
    line(adapter, "turn handled", dict(FIELDS))
    direct = json.loads(stream.getvalue())
    stream.seek(0)
    stream.truncate()
    adapter.info("turn handled", extra=dict(FIELDS))
    through_logging = json.loads(stream.getvalue())
    assert direct.pop("ts")[:10] == through_logging.pop("ts")[:10]
    assert list(direct.items()) == list(through_logging.items())  # same fields, same order
    assert direct["utterance"] == "제 번호는 ######-####### 이에요"


def test_the_turn_line_is_an_ordinary_log_call_when_another_handler_listens(caplog):
    caplog.set_level(logging.INFO, logger="cpoint.bot")
    logger = logging.getLogger("cpoint.bot")
    line = TurnLine(logger.name)
    assert line._direct_handler() is None  # pytest's capture handler sits on the root
    line(TurnLog(logger, {"request_id": "rid-2"}), "turn handled", dict(FIELDS))
    record = [r for r in caplog.records if r.getMessage() == "turn handled"][-1]
    assert (record.request_id, record.outcome, record.ms) == ("rid-2", "ok", 1.5)


def test_text_logs_and_filters_take_the_ordinary_path(monkeypatch):
    stream = io.StringIO()
    line, adapter = _isolated(monkeypatch, stream)
    handler = logging.getLogger("cpointlogtest").handlers[0]
    handler.addFilter(lambda record: True)
    assert line._direct_handler() is None
    handler.filters.clear()
    handler.setFormatter(logging.Formatter("%(message)s"))
    assert line._direct_handler() is None


def test_timestamps_are_utc_to_the_millisecond():
    for created in (1764812243.7941, 1764812243.0, 1764812244.9999):
        expected = datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds")
        assert _ts(created) == expected
