"""Korean morphological analysis with kiwipiepy: one analyser per process, loaded lazily.

The model ships in the kiwipiepy-model package (nothing is downloaded). Loading takes about a
second and a few hundred MB, so it happens once, under a lock, on first use (or earlier through
`warm_in_background`). Kiwi's analysis is safe to call from several threads at once."""
from __future__ import annotations

import os
import threading
import tomllib
from functools import lru_cache
from pathlib import Path

_SYNONYMS = Path(__file__).resolve().parent.parent / "texts" / "ko" / "synonyms.toml"
_lock = threading.Lock()
_kiwi = None


def _new_lock_after_fork() -> None:
    # A fork (gunicorn --preload) while the loading thread holds the lock would leave it held
    # forever in the child: the child gets a fresh one (and loads itself if it must).
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)

# Morpheme tags kept as features: nouns, verbs/adjectives (stems), adverbs and determiners
# (언제, 왜, 몇, 안, 못), roots, foreign words and numbers. Particles and endings carry style,
# not meaning.
_KEEP = ("NN", "NP", "NR", "VV", "VA", "VX", "MA", "MM", "XR", "SL", "SN", "SH", "IC")


def kiwi():
    global _kiwi
    if _kiwi is None:
        with _lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                # Without the typo and multi-word dictionaries: ~200 MB less, no loss on the bench.
                # One thread, no worker pool: texts are short, the pool's hand-off costs more than
                # it saves, and no pool thread is lost across a fork (gunicorn --preload).
                k = Kiwi(num_workers=1, load_typo_dict=False, load_multi_dict=False)
                for word in synonyms()[1]:
                    k.add_user_word(word, "NNG", 0.0)
                _kiwi = k
    return _kiwi


@lru_cache(maxsize=1)
def synonyms() -> tuple[dict[str, str | None], tuple[str, ...]]:
    """(variant -> canonical form or None to drop it, nouns the analyser must know) from texts/ko/synonyms.toml."""
    with _SYNONYMS.open("rb") as fh:
        data = tomllib.load(fh)
    fold: dict[str, str | None] = {variant: canonical for canonical, variants in data.get("fold", {}).items()
                                   for variant in variants}
    fold.update(dict.fromkeys(data.get("ignore", {}).get("words", ())))  # None: dropped
    return fold, tuple(data.get("nouns", {}).get("words", ()))


def loaded() -> bool:
    return _kiwi is not None


def warm_in_background() -> None:
    """Load the analyser in a daemon thread so the first citizen does not wait for it."""
    if _kiwi is None:
        threading.Thread(target=kiwi, name="kiwi-load", daemon=True).start()


# Morphemes of each word (eojeol) already analysed. Citizens' sentences are new far more often
# than their words are ('포인트', '언제', '들어와요'): a sentence whose words were all seen costs
# no analysis. Bounded: emptied when full (a word's entry is a few dozen bytes).
WORD_CACHE_SIZE = 50_000
_words: dict[str, tuple[str, ...]] = {}


def _content(tokens) -> tuple[str, ...]:
    fold = synonyms()[0]
    out = []
    for token in tokens:
        if token.tag.startswith(_KEEP):
            form = token.form.lower() if token.tag == "SL" else token.form
            form = fold.get(form, form)
            if form:
                out.append(form)
    return tuple(out)


def morphemes(text: str) -> list[str]:
    """The meaning-bearing morphemes of `text` (already normalised), with synonyms folded, e.g.
    '통장바꿨어요' -> ['계좌', '변경']. Each word is analysed on its own (so the result does not
    depend on what was analysed before); a word seen before is not analysed again."""
    if not text:
        return []
    words = text.split(" ")
    known = _words
    out: list[str] = []
    for w in words:
        ms = known.get(w)
        if ms is None:
            ms = _content(kiwi().tokenize(w))
            if len(known) >= WORD_CACHE_SIZE:
                known.clear()
            known[w] = ms
        out.extend(ms)
    return out
