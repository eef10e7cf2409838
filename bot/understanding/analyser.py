"""Korean morphological analysis with kiwipiepy: one analyser per process, loaded lazily.

The model ships in the kiwipiepy-model package (nothing is downloaded). Loading takes about a
second and a few hundred MB, so it happens once, under a lock, on first use (or earlier through
`warm_in_background`). Kiwi's analysis is safe to call from several threads at once."""
from __future__ import annotations

import threading
import tomllib
from functools import lru_cache
from pathlib import Path

_SYNONYMS = Path(__file__).resolve().parent.parent / "texts" / "ko" / "synonyms.toml"
_lock = threading.Lock()
_kiwi = None

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
                k = Kiwi(load_typo_dict=False, load_multi_dict=False)
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


def morphemes(text: str) -> list[str]:
    """The meaning-bearing morphemes of `text` (already normalised), with synonyms folded, e.g.
    '통장바꿨어요' -> ['계좌', '변경']."""
    if not text:
        return []
    fold = synonyms()[0]
    out = []
    for token in kiwi().tokenize(text):
        if token.tag.startswith(_KEEP):
            form = token.form.lower() if token.tag == "SL" else token.form
            form = fold.get(form, form)
            if form:
                out.append(form)
    return out
