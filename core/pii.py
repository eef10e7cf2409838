"""Personal-data patterns and masks (spec §3.4)."""
from __future__ import annotations

import re
import secrets
from functools import lru_cache

# YYMMDD, optional hyphen, a digit 1-8, six digits, not inside a longer digit run.
RRN_RE = re.compile(r"(?<!\d)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s*-?\s*[1-8]\d{6}(?!\d)")
RRN_MASK = "######-#######"
NAME_MASK = "****"


def contains_rrn(text: str | None) -> bool:
    if not text:
        return False
    return RRN_RE.search(text) is not None


def log_safe_token(nbytes: int = 16) -> str:
    """A random hex id the logs show as it is: none with a run of digits shaped like a resident
    registration number, which scrub_rrn would mask (about one token in six thousand)."""
    while True:
        token = secrets.token_hex(nbytes)
        if not contains_rrn(token):
            return token


def scrub_rrn(text: str) -> str:
    if len(text) < 13:  # an RRN is 13 digits at the least: nothing to look for
        return text
    return RRN_RE.sub(RRN_MASK, text)


def digits_only(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def mask_number(value: str | None, keep: int = 4) -> str:
    """'0419283746' -> '******3746'."""
    if not value:
        return ""
    v = digits_only(value)
    if len(v) <= keep:
        return "*" * len(v)
    return "*" * (len(v) - keep) + v[-keep:]


def mask_name(name: str | None) -> str:
    """'홍길동' -> '홍*동', '김철' -> '김*', 'Maria Kim' -> 'M*******m'."""
    if not name:
        return ""
    n = name.strip()
    if len(n) <= 1:
        return "*"
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_mobile(mobile: str | None) -> str:
    """'01012345678' -> '010-****-5678'."""
    d = digits_only(mobile or "")
    if len(d) < 8:
        return "*" * len(d)
    return f"{d[:3]}-****-{d[-4:]}"


def mask_key(key: str | None) -> str:
    """botUserKey and other ids in logs: first 6 characters only."""
    if not key:
        return ""
    return key[:6] + "…" if len(key) > 6 else key


@lru_cache(maxsize=1)
def _name_after_label() -> re.Pattern[str]:
    from core import texts

    labels = sorted((str(w) for w in texts.data("pii", "name_labels")), key=len, reverse=True)
    # the label, then the next word (the name with whatever ending it was typed with), and the
    # capitalised words after it of a Latin name ('My name is Maria Kim')
    return re.compile("((?i:" + "|".join(re.escape(w).replace("\\ ", r"\s*") for w in labels) + r"))\s*"
                      r"(\S+(?:\s+[A-Z][A-Za-z'\-]*)*)")


@lru_cache(maxsize=1)
def _address_numbers() -> tuple[re.Pattern[str], re.Pattern[str]]:
    from core import texts

    roads = "|".join(re.escape(str(w)) for w in sorted(texts.data("pii", "road_endings"), key=len, reverse=True))
    units = "|".join(re.escape(str(w)) for w in texts.data("pii", "unit_endings"))
    hangul = r"[\uac00-\ud7a3]"
    return (re.compile(rf"({hangul}+(?:{roads})(?:\d+{hangul}+)?)\s*\d+(?:\s*-\s*\d+)?"),
            re.compile(rf"(?<!\d)\d+(?:\s*-\s*\d+)?\s*(?:{units})"))


def mask_addresses(text: str) -> str:
    """The numbers of an address masked ('광교로 145' -> '광교로 ****', '101동 1203호' -> '**** ****')."""
    road, unit = _address_numbers()
    return road.sub(lambda m: m.group(1) + " " + NAME_MASK, unit.sub(NAME_MASK, text))


def mask_names(text: str) -> str:
    """The word after a name label masked ('이름은 김철수예요' -> '이름은 ****')."""
    return _name_after_label().sub(lambda m: m.group(1) + " " + NAME_MASK, text)
