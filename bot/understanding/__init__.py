"""Understanding what citizens type: normalisation, Korean morphology (kiwipiepy), an intent
classifier over the example bank (bot/texts/<lang>/intents.toml) and the confidence decision.

    from bot import understanding
    u = understanding.understand("포인트 언제 들어와요")
    u.outcome  # "confident" | "close" | "none";  u.intent, u.choices

The classifier is built once per process on first use (thread-safe); `warm_in_background()`
starts that early. What a text means is cached (as typed, then once normalised), and the
analyser keeps the morphemes of every word it has seen: a sentence typed before costs well
under a microsecond, a new sentence of known words about 0.1 ms, and only new words are
analysed by kiwipiepy. Text about something else (weather, news, small talk) lands on the
bank's out_of_scope intent, which means "nothing"."""
from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from bot.understanding.classifier import Classifier, Options, Result
from bot.understanding.normalise import normalise

_TEXTS = Path(__file__).resolve().parent.parent / "texts"
_HERE = Path(__file__).resolve().parent
LANGS = ("ko", "en")
# The bank's intent for what is not about the programme (weather, news, small talk): it lets
# such text score high somewhere harmless instead of near a real intent, and means "nothing".
OUT_OF_SCOPE = "out_of_scope"

_lock = threading.Lock()
_classifier: Classifier | None = None


def _new_lock_after_fork() -> None:
    global _lock  # see analyser._new_lock_after_fork
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


@cache
def bank(lang: str = "ko") -> dict:
    """The intents table of one language: {intent: {"label": ..., "examples": [...]}}."""
    path = _TEXTS / lang / "intents.toml"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def intents() -> tuple[str, ...]:
    """The intents a citizen can mean (the bank's, less out-of-scope)."""
    return tuple(i for i in bank("ko") if i != OUT_OF_SCOPE)


def label(intent: str, lang: str | None = None) -> str:
    """The intent's quick-reply label in `lang` (default: the reply's language), else Korean."""
    from bot import texts

    found = bank(lang or texts.current()).get(intent, {}).get("label")
    return found if isinstance(found, str) else bank("ko")[intent]["label"]


def examples(langs=LANGS) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for lang in langs:
        for intent, table in bank(lang).items():
            out.extend((u, intent) for u in table.get("examples", ()))
    return out


@dataclass(frozen=True)
class Thresholds:
    """Two-stage fallback (cf. Rasa): `confident` and a clear `margin` over the runner-up ->
    answer; else at least `close` -> offer the top choices; else not understood."""

    confident: float = 0.45
    margin: float = 0.15
    close: float = 0.3
    choices: int = 3
    dialog: float = 0.75  # stricter, for questions typed in the middle of a dialog


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    with (_HERE / "thresholds.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return Thresholds(**data["thresholds"])


@lru_cache(maxsize=1)
def options() -> Options:
    with (_HERE / "thresholds.toml").open("rb") as fh:
        data = tomllib.load(fh)
    opts = dict(data.get("classifier", {}))
    if "char_sizes" in opts:
        opts["char_sizes"] = tuple(opts["char_sizes"])
    return Options(**opts)


def classifier() -> Classifier:
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                _classifier = Classifier(examples(), options())
    return _classifier


def warm_in_background() -> None:
    """Build the classifier (and load the analyser) in a daemon thread."""
    if _classifier is None:
        threading.Thread(target=classifier, name="understanding-load", daemon=True).start()


@dataclass(frozen=True)
class Understood:
    outcome: str  # "confident" | "close" | "none"
    intent: str | None  # the best intent (for "confident"; the first choice otherwise)
    choices: tuple[str, ...]  # the intents offered for "close"
    result: Result


def decide(result: Result, limits: Thresholds | None = None) -> Understood:
    limits = limits or thresholds()
    top = result.top
    if top is None or top.score < limits.close or top.intent == OUT_OF_SCOPE:
        return Understood("none", None, (), result)
    alone = len(result.ranked) < 2 or result.ranked[1].score < limits.close
    if alone or (top.score >= limits.confident and result.margin >= limits.margin):
        return Understood("confident", top.intent, (top.intent,), result)
    choices = tuple(s.intent for s in result.ranked[:limits.choices + 1]
                    if s.score >= limits.close and s.intent != OUT_OF_SCOPE)[:limits.choices]
    return Understood("close", top.intent, choices, result)


# Citizens repeat the same phrasings ('포인트 조회', '가입할래요'): what a normalised text means is
# kept for the process's life, for the CACHE_SIZE most recently typed texts (each entry is a
# few hundred bytes). Thread-safe (functools.lru_cache).
CACHE_SIZE = 4096


def understand(utterance: str | None) -> Understood:
    return _understand_typed(utterance or "")


@lru_cache(maxsize=CACHE_SIZE)
def _understand_typed(utterance: str) -> Understood:
    # The text exactly as typed, before normalisation (tapped buttons, the same phrasing).
    return understand_normalised(normalise(utterance))


@lru_cache(maxsize=CACHE_SIZE)
def understand_normalised(text: str) -> Understood:
    return decide(classifier().classify_normalised(text))


__all__ = ["OUT_OF_SCOPE", "CACHE_SIZE", "Understood", "understand", "understand_normalised", "decide", "classifier", "intents", "label", "examples", "bank",
           "thresholds", "normalise", "warm_in_background", "Thresholds"]
