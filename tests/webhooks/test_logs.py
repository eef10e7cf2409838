"""Structured logs: the turn line's direct path writes what the JSON formatter writes, and
steps aside for the logging module whenever anything else listens."""
from __future__ import annotations

import io
import json
import logging
import os
from datetime import UTC, datetime

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
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert _ts(created) == expected


def test_gunicorn_error_log_still_formats_the_process_id(monkeypatch):
    """configure() stops collecting process ids (speed); gunicorn's own formats print
    %(process)d, so its loggers get the id filled in."""
    from webhooks import logs

    monkeypatch.setattr(logging, "logProcesses", logging.logProcesses)
    cpoint = logging.getLogger("cpoint")
    monkeypatch.setattr(cpoint, "handlers", list(cpoint.handlers))
    logs.configure("json", "INFO")
    assert logging.logProcesses is False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(message)s"))
    error_log = logging.getLogger("gunicorn.error")
    monkeypatch.setattr(error_log, "handlers", [handler])
    monkeypatch.setattr(error_log, "propagate", False)
    monkeypatch.setattr(logging, "raiseExceptions", True)
    error_log.error("Worker (pid:%s) was sent SIGKILL!", 1234)
    assert f"[{os.getpid()}] [ERROR] Worker (pid:1234)" in stream.getvalue()
