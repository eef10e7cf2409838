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

_COMPAT_JAMO = re.compile(r"[^\u3131-\u318e]+")
_SPACE = re.compile(r"\s+")
_REPEAT_PUNCT = re.compile(r"([^\w\s])\1+")
_REPEAT_ANY = re.compile(r"(\w)\1{2,}")
_NOISE = re.compile(r"[ㅋㅎㅠㅜ]{2,}|\^\^|;;+|ㅡㅡ|ㅜ\.ㅜ|ㅠ\.ㅠ")

# Whole words typed as chat shorthand -> their plain form.
_WORDS = {
    "ㅇㅇ": "응", "ㅇㅋ": "오케이", "ㄴㄴ": "아니", "ㄱㅅ": "감사", "ㄳ": "감사", "ㄱㅅㄱㅅ": "감사",
    "ㅎㅇ": "안녕", "ㅈㅅ": "죄송", "넵": "네", "넹": "네", "네넹": "네", "넴": "네", "웅": "응", "ㅂㅂ": "안녕",
    "ㄷㄷ": "", "ㄹㅇ": "진짜", "ok": "오케이", "thx": "thanks", "plz": "please", "pls": "please", "u": "you",
}
# Misspellings inside words (applied in order) -> the standard spelling.
_FRAGMENTS = (
    ("됬", "됐"), ("됀", "된"), ("되요", "돼요"), ("않돼", "안돼"), ("않되", "안되"),
    ("몇일", "며칠"), ("어떻해", "어떻게"), ("어떡게", "어떻게"), ("어케", "어떻게"), ("어캐", "어떻게"),
    ("할께", "할게"), ("줄께", "줄게"), ("뭐에요", "뭐예요"), ("뭐애요", "뭐예요"), ("머에요", "뭐예요"),
    ("머예요", "뭐예요"), ("모에요", "뭐예요"), ("얼만가요", "얼마인가요"), ("궁굼", "궁금"), ("포인트요", "포인트"),
    ("뭐임", "뭐예요"), ("왜케", "왜 이렇게"), ("하세여", "하세요"), ("세여", "세요"), ("나여", "나요"),
)


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
    return "".join(ch for ch in text if ch.isalnum() or "\u3131" <= ch <= "\u318e")
