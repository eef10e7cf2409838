"""Normalisation of typed text before it is analysed: what citizens type on a phone.

- NFKC (full-width digits and letters, compatibility forms) but never on Hangul compatibility
  jamo (ㅋ, ㅇ, ㄴ...), which NFKC would turn into conjoining jamo;
- lower case, one space between words;
- runs of a repeated character: punctuation and symbols once (???, ~~~), anything else at most
  twice (ㅋㅋㅋㅋ -> ㅋㅋ); laughter and crying (ㅋㅋ, ㅎㅎ, ㅠㅠ, ^^) dropped;
- common chat spellings and misspellings (ㅇㅇ, ㄴㄴ, 넵, 됬어요 -> 됐어요 ...).
"""
from __future__ import annotations

import re
import unicodedata

from bot import texts

_COMPAT_JAMO = re.compile(r"[^\u3131-\u318e]+")
_SPACE = re.compile(r"\s+")
_REPEAT_PUNCT = re.compile(r"([^\w\s])\1+")
_REPEAT_ANY = re.compile(r"(\w)\1{2,}")
# The chat spellings are data (bot/texts/ko/spellings.toml): noise dropped, shorthand words,
# misspellings inside words.
_SPELLINGS = texts.raw("spellings", lang="ko")
_NOISE = re.compile(_SPELLINGS["noise"])
# Whole words typed as chat shorthand -> their plain form.
_WORDS: dict[str, str] = dict(_SPELLINGS["words"])
# Misspellings inside words (applied in order) -> the standard spelling.
_FRAGMENTS: tuple[tuple[str, str], ...] = tuple((wrong, right) for wrong, right in _SPELLINGS["fragments"])


def _nfkc(text: str) -> str:
    if text.isascii():
        return text
    return _COMPAT_JAMO.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


def normalise(text: str | None) -> str:
    text = _nfkc(text or "").lower()
    text = _REPEAT_PUNCT.sub(r"\1", text)
    text = _REPEAT_ANY.sub(r"\1\1", text)
    words = []
    for word in _SPACE.split(text.strip()):
        bare = word.strip(".,!?~")
        if bare in _WORDS:
            word = _WORDS[bare]
        words.append(word)
    text = " ".join(w for w in words if w)
    text = _NOISE.sub(" ", text)
    for wrong, right in _FRAGMENTS:
        if wrong in text:
            text = text.replace(wrong, right)
    return _SPACE.sub(" ", text).strip()


def squash(text: str) -> str:
    """Without spaces and without punctuation: the input of the character n-grams."""
    return "".join(ch for ch in text if ch.isalnum() or 0x3131 <= ord(ch) <= 0x318E)  # compatibility jamo
