"""Reading an age as people state it when asked "만 14세 이상이신가요?".

People answer with an age rather than yes or no: "15살이에요", "만 14세", "열다섯 살",
"30대예요", "1990년생", "14살 넘었어요", "14세 미만". :func:`stated_age` gives the range of
full years (만 나이) the text allows, so a caller decides only what the text settles.

An age said without 만 may be counted the traditional way (세는 나이, one or two years more
than 만 나이, still common in speech), so "14살" or "15살" does not settle a threshold of 14;
"16살" and "13살" do. A birth year leaves a year of doubt (the birthday may not have come).
Words of a comparison ("넘었어요", "이상", "미만", "안 됐어요") take the number as the
question's own terms.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Under 14 a guardian consents to the processing of personal data (개인정보 보호법 §22-2), so
# members under 14 join on the website only; green-life too is for 14 and over (rules E6).
SELF_CONSENT_AGE = 14
NO_LIMIT = 200


@dataclass(frozen=True)
class AgeRange:
    """The full years (만 나이) a statement allows: least and most, both included."""

    least: int
    most: int

    def settles(self, threshold: int) -> bool | None:
        """True: at least `threshold` years old; False: younger; None: the text does not say."""
        if self.least >= threshold:
            return True
        if self.most < threshold:
            return False
        return None


_UNITS = {"열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50, "예순": 60, "일흔": 70,
          "여든": 80, "아흔": 90}
_ONES = {"한": 1, "하나": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "네": 4, "넷": 4, "다섯": 5, "여섯": 6,
         "일곱": 7, "여덟": 8, "아홉": 9}
_TENS = "|".join(sorted(_UNITS, key=len, reverse=True))
_ONE = "|".join(sorted(_ONES, key=len, reverse=True))
_NATIVE = re.compile(rf"(?P<tens>{_TENS})\s*(?P<ones>{_ONE})?\s*살")

_FULL = r"(?P<full>만\s*)?"
_YEARS = re.compile(rf"{_FULL}(?P<n>\d{{1,3}})\s*(?:살|세(?!대))")
_DECADE = re.compile(r"(?P<n>[1-9]0)\s*대")
_BORN = re.compile(r"(?P<y>\d{4}|\d{2})\s*년\s*(?:\d{1,2}\s*월\s*(?:\d{1,2}\s*일\s*)?)?생")
_MORE = re.compile(r"넘|이상|지났|지나|넘었|많")
_LESS = re.compile(r"미만|안\s*(?:됐|되|넘)|못\s*(?:넘|됐)|아직|이하|안\s*돼|아래|밑")


def _fold(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _comparison(text: str, end: int, n: int) -> AgeRange | None:
    """'14살 넘었어요', '14세 미만': the number taken as the question's own terms."""
    after = text[end:]
    if _LESS.search(after):
        return AgeRange(0, n - 1 if "이하" not in after else n)
    if _MORE.search(after):
        return AgeRange(n, NO_LIMIT)
    return None


def stated_age(text: str | None, today: date) -> AgeRange | None:
    """The range of full years a typed answer states, or None when it states no age."""
    t = _fold(text)
    if not t:
        return None
    m = _BORN.search(t)
    if m is not None:
        year = int(m.group("y"))
        if len(m.group("y")) == 2:
            year += 2000 if 2000 + year <= today.year else 1900
        if not 1900 <= year <= today.year:
            return None
        return AgeRange(max(0, today.year - year - 1), today.year - year)
    m = _YEARS.search(t)
    native = _NATIVE.search(t) if m is None else None
    if m is not None:
        n, full, end = int(m.group("n")), bool(m.group("full")), m.end()
    elif native is not None:
        n = _UNITS[native.group("tens")] + _ONES.get(native.group("ones") or "", 0)
        full, end = False, native.end()
    else:
        d = _DECADE.search(t)
        if d is None:
            return None
        n = int(d.group("n"))
        return _comparison(t, d.end(), n) or AgeRange(max(0, n - 2), n + 9)
    if n > 130:
        return None
    compared = _comparison(t, end, n)
    if compared is not None:
        return compared
    # 세는 나이 is one or two years more than 만 나이
    return AgeRange(n, n) if full else AgeRange(max(0, n - 2), n)
