"""Korean morphological analysis with kiwipiepy: one analyser per process, loaded lazily.

The model ships in the kiwipiepy-model package (nothing is downloaded). Loading takes about a
second and a few hundred MB, so it happens once, under a lock, on first use (or earlier through
`warm_in_background`). Kiwi's analysis is safe to call from several threads at once."""
from __future__ import annotations

import threading

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
                _kiwi = Kiwi(load_typo_dict=False, load_multi_dict=False)
    return _kiwi


def loaded() -> bool:
    return _kiwi is not None


def warm_in_background() -> None:
    """Load the analyser in a daemon thread so the first citizen does not wait for it."""
    if _kiwi is None:
        threading.Thread(target=kiwi, name="kiwi-load", daemon=True).start()


def morphemes(text: str) -> list[str]:
    """The meaning-bearing morphemes of `text` (already normalised), e.g. '통장바꿨어요' ->
    ['통장', '바꾸']."""
    if not text:
        return []
    out = []
    for token in kiwi().tokenize(text):
        if token.tag.startswith(_KEEP):
            out.append(token.form.lower() if token.tag == "SL" else token.form)
    return out
