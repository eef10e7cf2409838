"""Structured logs: one JSON object per line, a request id on every line of a skill call,
personal data masked (resident registration numbers scrubbed from every message), control
characters escaped so that no value (an utterance) can forge a line or drive a terminal."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime

import orjson

from core.pii import scrub_rrn

_STD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


_SECOND: tuple[int, str] = (-1, "")

# Text lines: every C0 and C1 control character, DEL and the Unicode line separators. JSON
# lines: the encoder escapes C0 itself; DEL, C1 and the separators are left to us.
_CONTROL_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def escape_controls(text: str, pattern: re.Pattern = _CONTROL_TEXT) -> str:
    """`text` with control characters written as escapes (newline as \\n, ESC as \\x1b)."""
    return pattern.sub(_escape_char, text) if pattern.search(text) else text


def _ts(created: float) -> str:
    """UTC ISO time to the millisecond; the text of the second is reused (many lines a second)."""
    global _SECOND
    second = int(created)
    cached = _SECOND
    if cached[0] != second:
        cached = _SECOND = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{int((created - second) * 1000):03d}+00:00"


def _clean(text: str) -> str:
    return escape_controls(scrub_rrn(text), _CONTROL_JSON)


def _json_line(created: float, level: str, logger: str, msg: str, fields, exc: str | None = None) -> str:
    """One log line as JSON: time, level, logger, message, then the fields, every text
    scrubbed of resident registration numbers."""
    out = {"ts": _ts(created), "level": level, "logger": logger, "msg": _clean(msg)}
    for key, value in fields:
        out[key] = _clean(value) if isinstance(value, str) else value
    if exc is not None:
        out["exc"] = _clean(exc)
    try:  # orjson: one line per chat turn, several times faster than the standard library
        return orjson.dumps(out, default=str).decode()
    except TypeError:  # keys that are not strings, integers beyond 64 bits
        return json.dumps(out, ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = ((k, v) for k, v in record.__dict__.items() if k not in _STD and not k.startswith("_"))
        exc = self.formatException(record.exc_info) if record.exc_info else None
        return _json_line(record.created, record.levelname, record.name, record.getMessage(), fields, exc)


class TurnLine:
    """Writes the INFO line every chat turn ends with (bot.app.BotApp.respond). When the
    configured JSON handler is the only one listening, the line is formatted as JsonFormatter
    would and written straight to its stream: the record, filter and handler path of the
    logging module costs more than the line itself. Otherwise (text format, another handler
    anywhere up to the root, such as pytest's caplog, a filter) it is an ordinary log call."""

    def __init__(self, name: str = "cpoint.bot") -> None:
        self.logger = logging.getLogger(name)

    def _direct_handler(self) -> logging.Handler | None:
        logger = self.logger
        if logger.handlers or logger.filters or logger.disabled or not logger.isEnabledFor(logging.INFO):
            return None
        parent = logger.parent
        if parent is None or len(parent.handlers) != 1 or parent.filters:
            return None
        handler = parent.handlers[0]
        if (not getattr(handler, "_cpoint", False) or handler.filters or handler.level > logging.INFO
                or type(handler.formatter) is not JsonFormatter):
            return None
        node = parent
        while node.propagate and node.parent is not None:  # nothing else on the way to the root
            node = node.parent
            if node.handlers:
                return None
        return handler

    def __call__(self, adapter: logging.LoggerAdapter, msg: str, fields: dict) -> None:
        handler = self._direct_handler()
        if handler is None:
            adapter.info(msg, extra=fields)
            return
        line = _json_line(time.time(), "INFO", self.logger.name, msg,
                          (*adapter.extra.items(), *fields.items()))
        with handler.lock:
            try:
                handler.stream.write(line + handler.terminator)
                handler.stream.flush()
            except Exception:  # as StreamHandler.emit: a broken log stream never breaks a reply
                pass


class TextFormatter(logging.Formatter):
    """One readable line, with the structured fields appended as key=value. A record is
    always one line: newlines (a traceback's too), ANSI escapes and other control characters
    are written as escapes."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in record.__dict__.items()
                          if k not in _STD and not k.startswith("_"))
        return escape_controls(scrub_rrn(f"{line} {fields}" if fields else line))


class _ProcessId(logging.Filter):
    """Fills in the process id the logging module no longer collects (configure): gunicorn's
    own log formats print %(process)d."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.process is None:
            record.process = os.getpid()
        return True


_PROCESS_ID = _ProcessId()


def configure(fmt: str = "json", level: str = "INFO") -> None:
    # Neither format prints the caller's file/line, thread or process, and every chat turn
    # logs a line: skip collecting them (the logging HOWTO's "Optimization" settings).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for name in ("gunicorn.error", "gunicorn.access", "gunicorn"):  # their formats print %(process)d
        gunicorn_log = logging.getLogger(name)
        if _PROCESS_ID not in gunicorn_log.filters:
            gunicorn_log.addFilter(_PROCESS_ID)
    root = logging.getLogger("cpoint")
    root.setLevel(level.upper())
    if any(getattr(h, "_cpoint", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._cpoint = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
