"""Member operations, framework-free: validate what a citizen typed, create a member in one
transaction, and the changes of "my info" (incentive type, account, resources, address,
withdrawal).

Every function works inside the caller's transaction (the bot's turn, a CLI command) and either
does all of its writes or raises before leaving anything half-written: checks run first, the
writes go through a savepoint whose unique indexes (one active member per household, one active
account per customer number) turn a lost race into the same domain error as the check.

Personal data rules (spec §3.4): customer numbers and bank accounts are stored encrypted
(`FieldCipher.encrypt`) and found by keyed hash; nothing here logs a value.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import texts
from core.clock import Clock, today_kst, utcnow_naive
from core.complexes import ComplexUnit, unit_supply_key_hash
from core.crypto import FieldCipher
from core.local_governments import (
    ParsedAddress,
    household_key,
    placement,
    successors_to_ask,
)
from core.models import (
    DialogState,
    HouseholdDispute,
    LocalGovernment,
    Member,
    MemberAddress,
    MissStreak,
    ResourceAccount,
)
from core.pii import contains_rrn, digits_only, mask_number
from core.sqla import rowcount
from core.utility_companies import NO_COMPANY, default_company, serving

# Member types the chat signs up (spec §3.1); under-14 and complexes are website only.
CHAT_MEMBER_TYPES = ("individual", "commercial", "public", "school", "foreigner")
# Member types that are a household (spec §3.3): they name the head of household (세대주).
HOUSEHOLD_MEMBER_TYPES = ("individual", "foreigner")
WEB_ONLY_MEMBER_TYPES = ("individual_under14", "complex")
BILLING_MODES = ("managed_fee", "separate", "not_used")
HOUSEHOLD_PURPOSE = "household"
# Offered when the member's 시군구 is not known yet (or lists nothing): cash to an own-name account
# is offered almost everywhere and donation is the programme default; nothing else can be promised.
FALLBACK_INCENTIVE_TYPES = ("cash", "donation")
CASH = "cash"


_NOT_JAMO = re.compile(r"[^\u3131-\u318e]+")
# Emoji and pictographs typed with an answer ('홍길동 😀', '📍경기도 …'): no field holds one
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D\u20E3]+")
_DASHES = re.compile(r"[.\u2010-\u2015\u2212\ufe63\uff0d]")
# Digits with single spaces, hyphens or dots between them: one typed account number.
_NUMBER_RUN = re.compile(r"\d(?:(?: ?[.\-] ?| )?\d)*")
_MOBILE = re.compile(r"^(01[016789])(\d{3,4})(\d{4})$")
_LANDLINE = re.compile(r"^(?:02\d{7,8}|0[3-6][1-5]\d{7,8}|070\d{8}|1[568]\d{6})$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_HANGUL_NAME = re.compile(r"^[가-힣]{1,5}(?: ?[가-힣]{1,10})?$")
# "홍 길 동": every syllable a word of its own (no Korean name's part is a lone syllable
# between two others, so this is spacing, not a name's parts)
_SPACED_SYLLABLES = re.compile(r"^[가-힣](?: [가-힣]){2,4}$")
# a foreign resident's name written in Hangul has its own parts: 응우옌 반 란
_HANGUL_NAME_FOREIGN = re.compile(r"^[가-힣]{1,10}(?: [가-힣]{1,10}){0,3}$")
# "(주)그린마트", "㈜그린에너지": a company's legal form may come first
_ORG_NAME = re.compile(r"^[0-9A-Za-z가-힣(㈜][0-9A-Za-z가-힣 .,&()·㈜\-]{0,48}[0-9A-Za-z가-힣.)]$")
_REFERRER = re.compile(r"^[A-Za-z0-9_.\-]{4,40}$")
PYEONG_M2 = Decimal("3.305785")


class MemberError(Exception):
    """A rule of the programme stops the operation; `code` names it for the caller's text."""

    code = "member_error"


class InvalidValue(MemberError):
    """What the citizen typed does not fit the field; `field` and `reason` say how."""

    code = "invalid"

    def __init__(self, field_name: str, reason: str = "format") -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


class AlreadyMember(MemberError):
    code = "already_member"

    def __init__(self, member: Member) -> None:
        super().__init__("already a member")
        self.member = member


class SeoulAddress(MemberError):
    code = "seoul"


class HouseholdTaken(MemberError):
    code = "household_taken"


class CustomerNumberTaken(MemberError):
    code = "customer_number_taken"

    def __init__(self, resource: str) -> None:
        super().__init__(f"{resource} customer number already registered")
        self.resource = resource


class IncentiveNotOffered(MemberError):
    code = "incentive_not_offered"


class AccountRequired(MemberError):
    code = "account_required"


class NotAMember(MemberError):
    code = "not_a_member"


def _rules(rules=None):
    if rules is not None:
        return rules
    from core.rules import default_rules

    return default_rules()


# --- what citizens type ----------------------------------------------------------------------

def normalise_name(text: str, member_type: str = "individual") -> str:
    """A person's name (Hangul, or Latin letters for foreigners) or, for shops, public bodies
    and schools, the organisation's name. Digits in a person's name are refused."""
    t = re.sub(r"\s+", " ", (text or "").strip())
    if member_type in ("commercial", "public", "school"):
        if not _ORG_NAME.match(t) or t.isdigit():
            raise InvalidValue("name")
        return t
    if _SPACED_SYLLABLES.match(t):
        t = t.replace(" ", "")  # "홍 길 동": a name typed syllable by syllable
    hangul = _HANGUL_NAME_FOREIGN if member_type == "foreigner" else _HANGUL_NAME
    if hangul.match(t) and len(t.replace(" ", "")) >= 2:
        return t
    if _latin_name(t):
        return t
    raise InvalidValue("name")


def _latin_name(t: str) -> bool:
    """Latin letters, accented ones too (Maria José García-López, Nguyễn Văn Lan), spaces,
    dots, apostrophes and hyphens; 2-60 characters, starting with a letter."""
    if not 2 <= len(t) <= 60 or not t[0].isalpha() or not (t[-1].isalpha() or t[-1] == "."):
        return False
    return all(ch in " .'-" or (ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")) for ch in t)


# How a name is typed in a sentence: "제 이름은 홍길동이에요", "홍길동입니다", "저는 김수지예요".
_NAME_BEFORE = re.compile(r"^(?:(?:제|저의|내|나의|본인)\s*)?(?:이름|성함|성명|실명)\s*(?:은|는|이|:)?\s*|^(?:저는|나는)\s+")
# "전 홍길동이에요" (I am), but "전 지현" is a surname and a given name: 전/난 count as "I" only
# before a whole name of three syllables or more
_NAME_I_SHORT = re.compile(r"^(?:전|난)\s+")
# endings that close a sentence and never a name; a person's name may also be followed by
# endings that could close a name (이요, 요, 에요...), which a shop's name keeps
_SURE_ENDINGS = r"입니다|이에요|예요|이고요|이라고\s*(?:해요|합니다)|라고\s*(?:해요|합니다)"
_NAME_AFTER = re.compile(rf"\s*(?:{_SURE_ENDINGS}|이예요|에요|이요|요|인데요)\s*[.!~^]*$")
_ORG_AFTER = re.compile(rf"\s*(?:{_SURE_ENDINGS})\s*[.!~^]*$")
_CONSONANT_ENDINGS = ("이에요", "이요")   # after a syllable that ends in a consonant (홍길동이요)


def _ends_in_consonant(syllable: str) -> bool:
    code = ord(syllable) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


def typed_name(text: str, member_type: str = "individual") -> str:
    """A person's name as citizens type it in a chat: also in a sentence ("제 이름은 홍길동이에요",
    "홍길동입니다", "홍길동이요"), which is taken apart when what is left is a name. "이요" and
    "이에요" follow a final consonant (홍길동이요: 홍길동); after a vowel their 이 is the name's
    (김하이요: 김하이). What is left must still be a name of two syllables or more (김이요 stays).
    An organisation's name loses only an ending no name has ("그린마트 영통점입니다")."""
    t = re.sub(r"\s+", " ", (text or "").strip())
    if member_type in ("commercial", "public", "school"):
        try:  # "그린마트 영통점입니다": the shop's name without the sentence's ending
            return normalise_name(_ORG_AFTER.sub("", t), member_type)
        except InvalidValue:
            return normalise_name(t, member_type)
    if not re.search(r"[가-힣]", t):
        return normalise_name(t, member_type)
    core = _NAME_BEFORE.sub("", t)
    m = _NAME_AFTER.search(core)
    if m and m.start() > 0:
        ending = m.group(0).strip().rstrip(".!~^")
        stem = core[: m.start()].rstrip()
        if ending in _CONSONANT_ENDINGS and not _ends_in_consonant(stem[-1]):
            stem = core[: m.start() + 1].rstrip()  # 김하이요: the name's own 이, then 요
        core = stem
    short = _NAME_I_SHORT.match(core)
    if short and len(core[short.end():].replace(" ", "")) >= 3:
        core = core[short.end():]
    try:
        return normalise_name(core, member_type)
    except InvalidValue:
        return normalise_name(t, member_type)


def fold(text: str | None) -> str:
    """What people type, made comparable: NFKC (full-width digits and letters, ideographic spaces)
    and single spaces, emoji dropped. Hangul compatibility jamo (typed shorthand such as a yes of two ieung)
    are kept as typed: NFKC would turn them into conjoining jamo."""
    t = _NOT_JAMO.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text or "")
    if not t.isascii():
        t = _EMOJI.sub("", t)
    return re.sub(r"\s+", " ", t).strip()


def looks_like_rrn(text: str | None) -> bool:
    """A resident registration number in any typed form: full-width, or its two parts joined by a
    dot or a dash-like character instead of a hyphen ('900101.1234567')."""
    t = _DASHES.sub("-", fold(text))
    return contains_rrn(t) or contains_rrn(text)


_SPOKEN_DIGITS = "공영일이삼사오육륙칠팔구"
_SPOKEN = str.maketrans(_SPOKEN_DIGITS, "001234566789")
_ONLY_DIGITS_SPOKEN = re.compile(rf"[{_SPOKEN_DIGITS}0-9\s.\-]+")
_MOBILE_IN_TEXT = re.compile(r"(?:\+\s*82|0)[0-9\s.()\-]{8,16}[0-9]")


def normalise_mobile(text: str) -> str:
    """'01012345678', '010 1234 5678', '010.1234.5678', '+82 10-1234-5678' -> '010-1234-5678';
    also said in words ('공일공-1234-5678') or in a sentence ('010 1234 5678 이요', '제 번호는
    010-1234-5678입니다') when the sentence holds one number."""
    t = fold(text)
    if _ONLY_DIGITS_SPOKEN.fullmatch(t) and re.search(f"[{_SPOKEN_DIGITS}]", t):
        t = t.translate(_SPOKEN)
    try:
        return _mobile(t)
    except InvalidValue:
        found = _MOBILE_IN_TEXT.findall(t)
        if len(found) != 1 or re.sub(r"\D", "", t) != re.sub(r"\D", "", found[0]):
            raise
        return _mobile(found[0])


# Between a name and the mobile typed after it: "홍길동이고", "홍길동, ", "홍길동 번호는", "홍길동 핸드폰"
# (no bare 고, 랑 or 하고: names end so, 김민고, 김이랑)
_BEFORE_MOBILE = re.compile(
    r"(?:\s*(?:[,/.:]|이고요?|이구요?|이며|그리고|(?:제\s*)?(?:휴대\s*전화|휴대폰|핸드폰|전화|연락처)"
    r"\s*(?:번호)?\s*(?:는|은|:)?|번호\s*(?:는|은|:)?))+\s*$")
_AFTER_MOBILE = re.compile(r"^\s*(?:이에요|예요|에요|입니다|이요|요|이고요|이구요)?\s*[.!~^]*\s*$")


def name_and_mobile(text: str, member_type: str = "individual") -> tuple[str, str] | None:
    """A name and a mobile typed in one message: "홍길동 010-1234-5678", "저는 홍길동이고 번호는
    010-1234-5678이에요", "010-1234-5678 홍길동". None when the text holds no one mobile or the
    words around it are more than a name; InvalidValue when the mobile or the name is wrong."""
    t = fold(text)
    found = _MOBILE_IN_TEXT.findall(t)
    if len(found) != 1:
        return None
    before, after = t.split(found[0], 1)
    if before.strip():
        if not _AFTER_MOBILE.match(after):
            return None
        words = _BEFORE_MOBILE.sub("", before)
    else:
        words = after
    if not words.strip() or re.search(r"\d", words):
        return None
    return typed_name(words, member_type), new_mobile(found[0])


def new_mobile(text: str) -> str:
    """A mobile given now, at signup or as a change: as normalise_mobile, and an 010 number
    must have its eleven digits ('010 1234 567' is one short). The 3-digit middle of the old
    01X numbers stays readable for registries that still hold one."""
    mobile = normalise_mobile(text)
    if mobile.startswith("010-") and len(mobile) == 12:
        raise InvalidValue("mobile", "short_010")
    return mobile


def _mobile(text: str) -> str:
    d = re.sub(r"[\s.()\-]", "", text)
    if d.startswith("+82"):
        d = "0" + d[3:].removeprefix("0")
    elif d.startswith("82") and len(d) in (11, 12):
        d = "0" + d[2:]
    m = _MOBILE.match(d)
    if not m:
        # a landline or an 070 internet phone: a shop's or an office's number, not a mobile
        raise InvalidValue("mobile", "landline" if _LANDLINE.match(d) else "format")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"


def normalise_customer_number(resource: str, text: str, rules=None) -> str:
    """Digits only (spaces and hyphens removed), checked against the configured format; also
    the one number of a few words typed around it. Kept as a string: a leading zero is part
    of the number."""
    rules = _rules(rules)
    if resource not in rules.customer_number_formats:
        raise InvalidValue("customer_number", "resource")
    if looks_like_rrn(text):
        raise InvalidValue("customer_number", "rrn")
    t = fold(text)
    number = digits_only(t)
    pattern = rules.customer_number_formats[resource]
    if not re.fullmatch(pattern, number):
        # in a few words ("고객번호 0419283746", "한전 04-1928-3746 입니다"): the one number in it
        # of the resource's format; with others copied from the bill ("고객번호: 04-1928-3746 /
        # 청구금액 45,230원"), the one of that format, or the one after its label
        fits = [d for d in (re.sub(r"\D", "", run) for run in _NUMBER_RUN.findall(t)) if re.fullmatch(pattern, d)]
        if len(fits) > 1:
            labelled = _LABELLED_NUMBER.search(t)
            fits = [re.sub(r"\D", "", labelled.group(1))] if labelled else []
        number = fits[0] if len(fits) == 1 else ""
        if not number or not re.fullmatch(pattern, number):
            raise InvalidValue("customer_number")
    return number


# A customer number after its label on a bill ("고객번호: 04-1928-3746", "수용가번호 123456")
_LABELLED_NUMBER = re.compile(rf"(?:고객|수용가|관리|사용\s*계약)\s*번호\s*[:：]?\s*({_NUMBER_RUN.pattern})")


@dataclass(frozen=True)
class BankList:
    """The bank list of core/data/banks.toml: canonical name by lower-case alias, the suffixes
    that make an unlisted name a bank's, the filler words typed around an account number."""

    aliases: dict[str, tuple[str, ...]]
    by_alias: dict[str, str]
    suffixes: tuple[str, ...]
    fillers: tuple[str, ...]


@lru_cache(maxsize=1)
def banks() -> BankList:
    """The bank list, read once."""
    doc = texts.data("banks")
    aliases = {name: tuple(words) for name, words in doc["aliases"].items()}
    by_alias = {_squash(alias).lower(): name for name, words in aliases.items() for alias in (name, *words)}
    return BankList(aliases, by_alias, tuple(doc.get("suffixes", ())),
                    tuple(sorted(doc.get("fillers", ()), key=len, reverse=True)))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", fold(text))


def _bank_or_none(word: str) -> str | None:
    b = banks()
    t = _squash(word).strip(".,:;()[]~!?'\"")
    if not t:
        return None
    candidates = [t] + [t[: -len(f)] for f in b.fillers if t.endswith(f) and len(t) > len(f)]
    for c in candidates:
        if c.lower() in b.by_alias:
            return b.by_alias[c.lower()]
    for c in candidates:
        if 2 <= len(c) <= 20 and re.fullmatch(r"\w+", c) and not re.search(r"\d", c) \
                and any(c.endswith(s) and len(c) > len(s) for s in b.suffixes):
            return c
    return None


def normalise_bank(text: str) -> str:
    """A bank by any listed spelling ('국민', 'KB', 'ｋｂ국민') -> its canonical name; an unlisted
    name ending in a bank word ('광주은행') as typed."""
    bank = _bank_or_none(text or "")
    if bank is None:
        raise InvalidValue("bank")
    return bank


class BankAccount(NamedTuple):
    bank: str | None  # canonical bank name when the answer named one
    number: str  # digits only


# a word after the number that reads as a person's name: the account's holder
_HOLDER_WORD = re.compile(r"[가-힣]{2,5}")


def parse_account(text: str, holder: str | None = None) -> BankAccount:
    """An account number as typed, with its bank name before or after it or none:
    '신한은행 110-482-309517', '110 482 309517 신한', '국민 123456.01.234567' (spaces, hyphens
    and dots between the digits). The number is 10-14 digits; a resident registration number is
    refused whatever its form, and so is anything else around the number, except the name of
    `holder` (the member), which people write after an account ('국민 123456789012 홍길동').
    Another person's name there is refused with reason 'holder': the account must be theirs."""
    t = fold(text)
    if looks_like_rrn(t):
        raise InvalidValue("account_number", "rrn")
    runs = list(_NUMBER_RUN.finditer(t))
    if len(runs) != 1:
        raise InvalidValue("account_number")
    run = runs[0]
    number = re.sub(r"\D", "", run.group())
    if not re.fullmatch(r"\d{10,14}", number):
        raise InvalidValue("account_number")
    rest = f"{t[: run.start()]} {t[run.end():]}"
    words = [w for w in re.split(r"[\s,:()\[\]]+", rest) if w]
    after = {w for w in re.split(r"[\s,:()\[\]]+", t[run.end():]) if w}
    bank = None
    fillers = set(banks().fillers)
    own = _squash(holder or "")
    someone_else = False
    for word in words:
        if word in fillers or (own and _squash(word) == own):
            continue
        found = _bank_or_none(word)
        if found is None and holder and word in after and _HOLDER_WORD.fullmatch(word):
            someone_else = True
            continue
        if found is None or (bank is not None and found != bank):
            raise InvalidValue("account_number", "words")
        bank = found
    if someone_else:
        raise InvalidValue("account_number", "holder")
    return BankAccount(bank, number)


def account_in_sentence(text: str) -> BankAccount | None:
    """The bank and account a request names in a sentence ('계좌 우리은행 1002-123-456789로
    바꿀래요'), or None: one number of 10-14 digits and exactly one bank among the words, an
    everyday word ('우리', '하나') counting only as '우리은행'. Looser than parse_account (other
    words are allowed), so it is only used to take an answer from a request, never to refuse."""
    t = fold(text)
    runs = list(_NUMBER_RUN.finditer(t))
    if looks_like_rrn(t) or len(runs) != 1 or re.search(r"\d", t[: runs[0].start()] + t[runs[0].end():]):
        return None
    number = re.sub(r"\D", "", runs[0].group())
    if not re.fullmatch(r"\d{10,14}", number):
        return None
    everyday = {w.lower() for w in texts.data("banks").get("everyday", ())}
    rest = f"{t[: runs[0].start()]} {t[runs[0].end():]}"
    found = {_bank_or_none(w) for w in re.split(r"[\s,:()\[\]]+", rest)
             if w and _squash(w).strip(".,:;()[]~!?'\"").lower() not in everyday}
    found.discard(None)
    return BankAccount(found.pop(), number) if len(found) == 1 else None


def normalise_account_number(text: str) -> str:
    """The digits of an account number (see parse_account; a bank name around it is allowed)."""
    return parse_account(text).number


_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def find_email(text: str | None) -> str | None:
    """The one e-mail address in typed text, as people type it: full-width, spaces around '@'
    or a dot ('hong @ naver . com'), in a sentence ('제 메일은 hong@naver.com이에요'). None
    when there is none, or more than one."""
    t = re.sub(r"\s*([@.])\s*", r"\1", fold(text))
    found = _EMAIL_IN_TEXT.findall(t)
    if len(found) != 1 or t.count("@") != 1:
        return None
    return found[0]


def normalise_email(text: str) -> str:
    t = find_email(text) or (text or "").strip()
    if len(t) > 120 or not _EMAIL.match(t):
        raise InvalidValue("email")
    return t


_WORDS_AFTER_AREA = re.compile(r"(?:정도|쯤|가량|이요|요|입니다|이에요|예요|에요|이고요|돼요|되요|[.!~])*")


def parse_floor_area(text: str) -> Decimal:
    """'84.97', '84.97㎡', '84.97 m2' -> 84.9 (one decimal, truncated); '25평' -> 82.6; also
    in a few words ('약 25평이요', '전용 84㎡ 정도')."""
    t = fold(text).replace(",", "").replace(" ", "")
    if "평형" in t:  # a size class ('25평형'): the supply area, shared parts included, not the exclusive one
        raise InvalidValue("floor_area", "supply")
    t = re.sub(r"^(?:약|대략|한|전용면적|전용|면적은?)", "", t)
    # the number and its unit, then an ending at most ('25평이요', '84㎡ 정도')
    m = re.match(r"(\d{1,6}(?:\.\d+)?)(㎡|m2|m²|제곱미터|평)?", t, re.I)
    if not m or not _WORDS_AFTER_AREA.fullmatch(t[m.end():]):
        raise InvalidValue("floor_area")
    value = Decimal(m.group(1))
    if m.group(2) == "평":
        value *= PYEONG_M2
    value = value.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    if not Decimal("1") <= value <= Decimal("9999999"):
        raise InvalidValue("floor_area", "range")
    return value


_DATE_FORMS = (
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),                                  # 20200301
    re.compile(r"(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2})"),                                  # 200301
    re.compile(r"(?P<y>\d{4}|\d{2})\s*[-./]\s*(?P<m>\d{1,2})\s*[-./]\s*(?P<d>\d{1,2})\.?"),  # 2020-3-1, 20.3.1
    re.compile(r"(?P<y>\d{4}|\d{2})\s*년\s*(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일?"),     # 2020년 3월 1일
    re.compile(r"(?P<y>\d{4}|\d{2})\s*년\s*(?P<m>\d{1,2})\s*월"),                         # 2020년 3월
    re.compile(r"(?P<y>\d{4})\s*[-./]\s*(?P<m>\d{1,2})\.?"),                              # 2020-03, 2020.3
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})"),                                               # 202003
)


def parse_move_in_date(text: str, today: date) -> date:
    """YYYYMMDD, YYMMDD, YYYY-MM-DD (also with dots or slashes, a two-digit year, one-digit
    month and day), 'YYYY년 M월 D일'; a month alone ('2020년 3월', '2020.03') is its 1st day,
    the precision the programme's monthly figures use. Words after it are allowed ('2020년
    3월쯤', '2020-03-01 입니다'), other digits are not. Not in the future, not before 1900."""
    t = fold(text)
    value = None
    for form in _DATE_FORMS:
        m = form.match(t)
        if m is None or re.search(r"\d", t[m.end():]):
            continue
        year = int(m.group("y"))
        if len(m.group("y")) == 2:
            year += 2000 if 2000 + year <= today.year else 1900
        try:
            value = date(year, int(m.group("m")), int(m.groupdict().get("d") or 1))
            break
        except ValueError:
            continue  # 202003 is not 20-20-03: the next form reads it
    if value is None:
        raise InvalidValue("move_in_date")
    if value > today or value.year < 1900:
        raise InvalidValue("move_in_date", "range")
    return value


def normalise_referrer(text: str) -> str:
    t = (text or "").strip()
    if not _REFERRER.match(t):
        raise InvalidValue("referrer")
    return t


def normalise_motivation(text: str) -> str:
    t = re.sub(r"\s+", " ", (text or "").strip())
    if not t or len(t) > 200:
        raise InvalidValue("motivation")
    return t


# --- lookups ---------------------------------------------------------------------------------

def _drop_prepared(session: Session, member: Member | None) -> None:
    """Accounts, address or status change: the member's prepared balance (core.progress) goes."""
    if member is not None and member.id is not None:
        session.execute(text("DELETE FROM prepared_progress WHERE member_id = :m"), {"m": member.id})


def member_for_user(session: Session, user_key: str | None, app_user_id: str | None = None) -> Member | None:
    """The active member of a chat user: by botUserKey, else by the Kakao app user id."""
    if user_key:
        found = session.scalars(select(Member).where(
            Member.bot_user_key == user_key, Member.status == "active")).first()
        if found is not None:
            return found
    if app_user_id:
        return session.scalars(select(Member).where(
            Member.app_user_id == app_user_id, Member.status == "active").order_by(Member.id)).first()
    return None


def household_hash(cipher: FieldCipher, parsed: ParsedAddress) -> str:
    return cipher.keyed_hash(household_key(parsed), purpose=HOUSEHOLD_PURPOSE)


def household_taken(session: Session, cipher: FieldCipher, parsed: ParsedAddress,
                    exclude_member_id: int | None = None) -> bool:
    q = select(Member.id).where(Member.household_hash == household_hash(cipher, parsed),
                                Member.status == "active")
    if exclude_member_id is not None:
        q = q.where(Member.id != exclude_member_id)
    return session.scalars(q).first() is not None


# A refused household check counts against the chat user (a fixed window of a day, shared by
# every process): the check must not let anyone learn, address by address, who has joined.
HOUSEHOLD_REFUSAL_WINDOW = 24 * 3600


def _refusal_key(user_key: str) -> str:
    import hashlib

    return "household_refusal:" + hashlib.sha256(user_key.encode()).hexdigest()


def household_refusals(session: Session, clock: Clock, user_key: str) -> int:
    """Household checks refused for this chat user in the current day-long window."""
    from core.operators import counter_value

    return counter_value(session, _refusal_key(user_key), HOUSEHOLD_REFUSAL_WINDOW, utcnow_naive(clock))


def count_household_refusal(session: Session, clock: Clock, user_key: str) -> int:
    """One more refused household check for this chat user; returns the window's count."""
    from core.operators import count

    return count(session, _refusal_key(user_key), HOUSEHOLD_REFUSAL_WINDOW, utcnow_naive(clock))


def queue_household_dispute(session: Session, cipher: FieldCipher, clock: Clock, parsed: ParsedAddress, *,
                            user_key: str | None, mobile: str | None = None) -> HouseholdDispute:
    """A citizen says the member registered at this household is not them: one open dispute
    per chat user and household (asking again returns the open one)."""
    digest = household_hash(cipher, parsed)
    found = session.scalars(select(HouseholdDispute).where(
        HouseholdDispute.household_hash == digest, HouseholdDispute.bot_user_key == user_key,
        HouseholdDispute.state == "open")).first()
    if found is not None:
        return found
    dispute = HouseholdDispute(state="open", bot_user_key=user_key, household_hash=digest,
                               address=parsed.full[:300], mobile=mobile, created_at=utcnow_naive(clock))
    session.add(dispute)
    session.flush()
    return dispute


def household_disputes(session: Session, state: str | None = "open") -> list[HouseholdDispute]:
    q = select(HouseholdDispute).order_by(HouseholdDispute.id)
    if state:
        q = q.where(HouseholdDispute.state == state)
    return list(session.scalars(q))


def resolve_household_dispute(session: Session, clock: Clock, dispute_id: int, operator: str, note: str) -> HouseholdDispute:
    dispute = session.get(HouseholdDispute, dispute_id)
    if dispute is None:
        raise LookupError(f"no dispute {dispute_id}")
    if dispute.state != "open":
        raise ValueError(f"dispute {dispute_id} is already {dispute.state}")
    dispute.state, dispute.resolved_at = "resolved", utcnow_naive(clock)
    dispute.resolved_by, dispute.resolution = operator, note
    session.flush()
    return dispute


@dataclass
class HouseholdKeyCheck:
    """Active members whose stored household hash differs from the one their stored address
    gives today (the key's rules changed), and the households that would then hold more than
    one member (an operator decides which one stays before any hash is rewritten)."""

    checked: int = 0
    changed: list[int] = field(default_factory=list)
    collisions: list[list[int]] = field(default_factory=list)


def check_household_keys(session: Session, cipher: FieldCipher) -> HouseholdKeyCheck:
    """Read-only: recompute every active member's household hash from `address` and
    `address_detail`. Nothing is written (see `cpoint households check`)."""
    out = HouseholdKeyCheck()
    by_hash: dict[str, list[int]] = {}
    rows = session.execute(select(Member.id, Member.address, Member.address_detail, Member.household_hash)
                           .where(Member.status == "active", Member.address.is_not(None)).order_by(Member.id))
    for member_id, base, detail, stored in rows:
        out.checked += 1
        digest = household_hash(cipher, ParsedAddress(sido=None, base=base, detail=detail or "", kind="road"))
        if digest != stored:
            out.changed.append(member_id)
        by_hash.setdefault(digest, []).append(member_id)
    out.collisions = [ids for ids in by_hash.values() if len(ids) > 1]
    return out


def supply_key_hash(cipher: FieldCipher, resource: str, number: str) -> str:
    return cipher.keyed_hash(number, purpose=resource)


def _supply_taken(session: Session, resource: str, key_hash: str, exclude_member_id: int | None) -> bool:
    q = select(ResourceAccount.member_id).where(
        ResourceAccount.resource == resource, ResourceAccount.supply_key_hash == key_hash,
        ResourceAccount.ended_on.is_(None))
    if exclude_member_id is not None:
        q = q.where(ResourceAccount.member_id != exclude_member_id)
    return session.scalars(q).first() is not None


def customer_number_taken(session: Session, cipher: FieldCipher, resource: str, number: str,
                          exclude_member_id: int | None = None, company: str | None = None) -> bool:
    """E2: another active account (not ended) already holds this customer number at this
    utility company (`company` None: at any company)."""
    q = select(ResourceAccount.member_id).where(
        ResourceAccount.resource == resource,
        ResourceAccount.supply_key_hash == supply_key_hash(cipher, resource, number),
        ResourceAccount.ended_on.is_(None))
    if company is not None:
        q = q.where(ResourceAccount.company == company)
    if exclude_member_id is not None:
        q = q.where(ResourceAccount.member_id != exclude_member_id)
    return session.scalars(q).first() is not None


def offered_incentive_types(lg: LocalGovernment | None, rules=None) -> list[str]:
    """Incentive types the member's 시군구 offers (known codes only, in its order), with the
    programme default (donation) always available; the fallback when the 시군구 is unknown."""
    rules = _rules(rules)
    listed = [t for t in (lg.incentive_types if lg is not None else []) or [] if t in rules.incentive_types]
    out = listed or [t for t in FALLBACK_INCENTIVE_TYPES if t in rules.incentive_types]
    if rules.default_incentive_type not in out:
        out.append(rules.default_incentive_type)
    return out


def active_accounts(member: Member) -> list[ResourceAccount]:
    return [a for a in member.accounts if a.ended_on is None]


def account_for(member: Member, resource: str) -> ResourceAccount | None:
    for account in active_accounts(member):
        if account.resource == resource:
            return account
    return None


def masked_customer_number(cipher: FieldCipher, account: ResourceAccount | None) -> str:
    if account is None or not account.customer_number_enc:
        return ""
    return mask_number(cipher.decrypt(account.customer_number_enc))


def masked_account_number(cipher: FieldCipher, member: Member) -> str:
    if not member.account_number_enc:
        return ""
    return mask_number(cipher.decrypt(member.account_number_enc))


# --- creating a member -----------------------------------------------------------------------

@dataclass
class ResourceChoice:
    resource: str
    billing_mode: str
    customer_number: str | None = None  # plain digits; only for `separate`
    tariff: str | None = None
    # managed_fee of a unit of a registered complex: readings come under the unit's key
    unit: ComplexUnit | None = None
    company: str | None = None  # the complex's billing company
    # `separate`: the utility company of the customer number (core.utility_companies code);
    # None = the default company of the member's 시·군·구 (fill_utilities).
    utility: str | None = None


@dataclass
class SignupData:
    member_type: str
    user_key: str
    name: str
    mobile: str
    address: ParsedAddress
    resources: Sequence[ResourceChoice]
    consents: dict
    marketing_opt_in: bool = False
    bot_id: str | None = None
    app_user_id: str | None = None
    plusfriend_user_key: str | None = None
    is_friend: bool = True
    head_of_household: str | None = None
    incentive_type: str | None = None
    bank_name: str | None = None
    account_number: str | None = None
    account_holder: str | None = None
    motivation: str | None = None
    floor_area: Decimal | None = None
    move_in_date: date | None = None
    email: str | None = None
    referrer: str | None = None
    extra: dict = field(default_factory=dict)
    # The 구 the citizen chose where the address names one a reorganisation split without
    # saying which side (core.local_governments.successors_to_ask); taken only if it is one.
    local_government_code: str | None = None


def check_resources(choices: Sequence[ResourceChoice], rules=None) -> list[ResourceChoice]:
    """One choice per known resource, electricity required (not 'not used'), a valid customer
    number exactly for separate billing. Returns the choices in the rules' resource order."""
    rules = _rules(rules)
    by_resource: dict[str, ResourceChoice] = {}
    for choice in choices:
        if choice.resource not in rules.resources or choice.resource in by_resource:
            raise InvalidValue("resources", f"unknown or repeated resource {choice.resource}")
        if choice.billing_mode not in BILLING_MODES:
            raise InvalidValue("billing_mode")
        if choice.resource == "electricity" and choice.billing_mode == "not_used":
            raise InvalidValue("billing_mode", "electricity_required")
        if choice.billing_mode == "separate":
            choice.customer_number = normalise_customer_number(choice.resource, choice.customer_number or "", rules)
        else:
            choice.customer_number = None
        if choice.billing_mode != "managed_fee":
            choice.unit = choice.company = None
        by_resource[choice.resource] = choice
    if "electricity" not in by_resource:
        raise InvalidValue("resources", "electricity_required")
    return [by_resource[r] for r in rules.resources if r in by_resource]


def _check_incentive(session: Session, lg_code: str | None, incentive_type: str | None,
                     account_number: str | None, rules) -> str:
    lg = session.get(LocalGovernment, lg_code) if lg_code else None
    chosen = incentive_type or rules.default_incentive_type
    if chosen not in offered_incentive_types(lg, rules):
        raise IncentiveNotOffered(chosen)
    if chosen == CASH and not account_number:
        raise AccountRequired()
    return chosen


def fill_utilities(choices: Iterable[ResourceChoice], lg_code: str | None) -> None:
    """The utility company of each customer number the caller did not name: the default (first)
    company of the 시·군·구 (core.utility_companies). Other choices have none."""
    for choice in choices:
        if choice.customer_number:
            choice.utility = choice.utility or default_company(choice.resource, lg_code)
        else:
            choice.utility = None


def _new_account(cipher: FieldCipher, member: Member, choice: ResourceChoice, today: date) -> ResourceAccount:
    number = choice.customer_number
    key = (supply_key_hash(cipher, choice.resource, number) if number else
           unit_supply_key_hash(cipher, choice.resource, choice.unit) if choice.unit else None)
    return ResourceAccount(
        member=member, resource=choice.resource, billing_mode=choice.billing_mode,
        customer_number_enc=cipher.encrypt(number) if number else None,
        supply_key_hash=key, company=(choice.utility or NO_COMPANY) if number else NO_COMPANY,
        tariff=choice.tariff, registered_on=today,
        complex_code=choice.unit.code if choice.unit else None, billing_company=choice.company,
    )


def adopt_all_unassigned_readings(session: Session) -> int:
    """adopt_unassigned_readings for every active account at once (a registry import): one
    set-based statement. Where two active accounts hold the number at different companies the
    readings go to the first company code (the import cannot tell)."""
    owner = ("SELECT MIN(a.company) FROM resource_accounts a WHERE a.resource = meter_readings.resource"
             " AND a.supply_key_hash = meter_readings.supply_key_hash AND a.ended_on IS NULL AND a.company <> ''")
    return rowcount(session.execute(text(
        f"UPDATE meter_readings SET company = ({owner}) WHERE company = '' AND ({owner}) IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM meter_readings x WHERE x.resource = meter_readings.resource"
        f" AND x.supply_key_hash = meter_readings.supply_key_hash AND x.month = meter_readings.month"
        f" AND x.company = ({owner}))"))) or 0


def adopt_unassigned_readings(session: Session, accounts: Iterable[ResourceAccount]) -> int:
    """Readings of a customer number imported before anyone said which company bills it
    (company "", core.utility_companies) become the supply point of the account registering
    the number at its company; a month the company already has keeps the company's reading."""
    moved = 0
    for acc in accounts:
        if not acc.company or not acc.supply_key_hash or acc.ended_on is not None:
            continue
        moved += rowcount(session.execute(text(
            "UPDATE meter_readings SET company = :c WHERE resource = :r AND supply_key_hash = :h"
            " AND company = '' AND NOT EXISTS (SELECT 1 FROM meter_readings x WHERE x.resource = :r"
            " AND x.supply_key_hash = :h AND x.company = :c AND x.month = meter_readings.month)"),
            {"c": acc.company, "r": acc.resource, "h": acc.supply_key_hash}))
    return moved


def _raise_for_conflict(session: Session, cipher: FieldCipher, *, user_key: str | None,
                        parsed: ParsedAddress | None, choices: Iterable[ResourceChoice],
                        exclude_member_id: int | None) -> None:
    """Raise the domain error a unique index would have raised (checked before writing and
    again after a lost race)."""
    if user_key is not None:
        existing = member_for_user(session, user_key)
        if existing is not None and existing.id != exclude_member_id:
            raise AlreadyMember(existing)
    if parsed is not None and household_taken(session, cipher, parsed, exclude_member_id):
        raise HouseholdTaken()
    for choice in choices:
        if choice.customer_number and customer_number_taken(
                session, cipher, choice.resource, choice.customer_number, exclude_member_id, choice.utility):
            raise CustomerNumberTaken(choice.resource)
        if choice.unit and _supply_taken(session, choice.resource, unit_supply_key_hash(
                cipher, choice.resource, choice.unit), exclude_member_id):
            raise HouseholdTaken()  # the unit of a complex is the household (one member)


def _flush_guarded(session: Session, cipher: FieldCipher, write, **conflict) -> None:
    """Run `write()` and flush inside a savepoint; a unique-index violation (a concurrent
    signup won the race) is rolled back to the savepoint and re-raised as the domain error."""
    try:
        with session.begin_nested():
            write()
            session.flush()
    except IntegrityError:
        _raise_for_conflict(session, cipher, **conflict)
        raise


def create_member(session: Session, cipher: FieldCipher, clock: Clock, data: SignupData, rules=None) -> Member:
    """Create the member, its resource accounts and its first address row, all or nothing.

    Raises AlreadyMember, SeoulAddress, HouseholdTaken, CustomerNumberTaken, IncentiveNotOffered,
    AccountRequired or InvalidValue before writing anything."""
    rules = _rules(rules)
    if data.member_type not in CHAT_MEMBER_TYPES:
        raise InvalidValue("member_type")
    if data.address.is_seoul:
        raise SeoulAddress()
    name = normalise_name(data.name, data.member_type)
    mobile = normalise_mobile(data.mobile)
    choices = check_resources(data.resources, rules)
    existing = member_for_user(session, data.user_key, data.app_user_id)
    if existing is not None:
        raise AlreadyMember(existing)
    lg = place_address(session, data.address, today_kst(clock), data.local_government_code)
    fill_utilities(choices, lg.code if lg else None)
    _raise_for_conflict(session, cipher, user_key=None, parsed=data.address, choices=choices,
                        exclude_member_id=None)
    account = normalise_account_number(data.account_number) if data.account_number else None
    incentive = _check_incentive(session, lg.code if lg else None, data.incentive_type, account, rules)
    if incentive != CASH:
        account = None
    today = today_kst(clock)
    member = Member(
        status="active", member_type=data.member_type, bot_user_key=data.user_key, bot_id=data.bot_id,
        app_user_id=data.app_user_id, plusfriend_user_key=data.plusfriend_user_key,
        name=name, head_of_household=data.head_of_household, mobile=mobile,
        email=normalise_email(data.email) if data.email else None,
        local_government_code=lg.code if lg else None,
        address=data.address.base, address_detail=data.address.detail or None,
        household_hash=household_hash(cipher, data.address),
        incentive_type=incentive,
        bank_name=normalise_bank(data.bank_name) if account and data.bank_name else None,
        account_number_enc=cipher.encrypt(account) if account else None,
        account_holder=(data.account_holder or name) if account else None,
        motivation=normalise_motivation(data.motivation) if data.motivation else None,
        floor_area=data.floor_area, move_in_date=data.move_in_date,
        referrer=normalise_referrer(data.referrer) if data.referrer else None,
        consents=dict(data.consents), marketing_opt_in=bool(data.marketing_opt_in),
        campaign_opt_out=False, is_friend=data.is_friend, joined_at=utcnow_naive(clock),
    )

    def write():
        if data.user_key:  # a member who left for Seoul and joins again (moved back)
            session.execute(update(Member).where(Member.bot_user_key == data.user_key, Member.status == "left")
                            .values(bot_user_key=None))
        session.add(member)
        accounts = [_new_account(cipher, member, choice, today) for choice in choices]
        session.add_all(accounts)
        session.flush()  # member.id for the address row
        adopt_unassigned_readings(session, accounts)
        session.add(MemberAddress(member_id=member.id, local_government_code=member.local_government_code,
                                  valid_from=today))

    _flush_guarded(session, cipher, write, user_key=data.user_key, parsed=data.address, choices=choices,
                   exclude_member_id=None)
    return member


# --- my info ---------------------------------------------------------------------------------

def _active(member: Member | None) -> Member:
    if member is None or member.status != "active":
        raise NotAMember()
    return member


def change_incentive(session: Session, cipher: FieldCipher, member: Member, incentive_type: str, *,
                     bank_name: str | None = None, account_number: str | None = None,
                     account_holder: str | None = None, rules=None) -> None:
    """Change how the member is paid. Cash needs an account (given now or already on file);
    leaving cash keeps no account."""
    rules = _rules(rules)
    member = _active(member)
    account = normalise_account_number(account_number) if account_number else None
    has_account = bool(account or member.account_number_enc)
    _check_incentive(session, member.local_government_code, incentive_type,
                     "on file" if has_account else None, rules)
    member.incentive_type = incentive_type
    if incentive_type != CASH:
        member.bank_name = member.account_number_enc = member.account_holder = None
    elif account:
        member.bank_name = normalise_bank(bank_name) if bank_name else None
        member.account_number_enc = cipher.encrypt(account)
        member.account_holder = account_holder or member.name
    session.flush()


def change_account(session: Session, cipher: FieldCipher, member: Member, bank_name: str,
                   account_number: str, account_holder: str | None = None) -> None:
    """New own-name account; the incentive type becomes cash (an account is only for cash)."""
    member = _active(member)
    account = normalise_account_number(account_number)
    bank = normalise_bank(bank_name)
    if member.incentive_type != CASH:
        _check_incentive(session, member.local_government_code, CASH, account, _rules())
    member.incentive_type = CASH
    member.bank_name, member.account_number_enc = bank, cipher.encrypt(account)
    member.account_holder = account_holder or member.name
    session.flush()


def _replace_accounts(session: Session, cipher: FieldCipher, member: Member, choices: Sequence[ResourceChoice],
                      today: date) -> list[str]:
    """End the active account of each resource whose mode or number changes and register the
    new one from today (new customer numbers are evaluated from the next half, E7)."""
    changed = []
    for choice in choices:
        current = account_for(member, choice.resource)
        if current is not None and current.billing_mode == choice.billing_mode:
            # the same supply point (customer number, complex unit, or none) stays as it is
            new_key = (supply_key_hash(cipher, choice.resource, choice.customer_number) if choice.customer_number
                       else unit_supply_key_hash(cipher, choice.resource, choice.unit) if choice.unit else None)
            if current.supply_key_hash == new_key and (current.company or NO_COMPANY) == (
                    (choice.utility or NO_COMPANY) if choice.customer_number else NO_COMPANY):
                continue
        if current is not None:
            current.ended_on = today
        # 'not used' is recorded too: the statement then says why the resource is not evaluated.
        account = _new_account(cipher, member, choice, today)
        session.add(account)
        session.flush()
        adopt_unassigned_readings(session, [account])
        changed.append(choice.resource)
    return changed


def change_resources(session: Session, cipher: FieldCipher, clock: Clock, member: Member,
                     choices: Sequence[ResourceChoice], rules=None) -> list[str]:
    """Change billing modes / customer numbers of some resources (same checks as signup).
    Returns the resources that changed."""
    _drop_prepared(session, member)
    rules = _rules(rules)
    member = _active(member)
    for choice in choices:
        if choice.resource not in rules.resources:
            raise InvalidValue("resources")
        if choice.resource == "electricity" and choice.billing_mode == "not_used":
            raise InvalidValue("billing_mode", "electricity_required")
        if choice.billing_mode not in BILLING_MODES:
            raise InvalidValue("billing_mode")
        choice.customer_number = (normalise_customer_number(choice.resource, choice.customer_number or "", rules)
                                  if choice.billing_mode == "separate" else None)
    fill_utilities(choices, member.local_government_code)
    _raise_for_conflict(session, cipher, user_key=None, parsed=None, choices=choices, exclude_member_id=member.id)
    today = today_kst(clock)
    changed: list[str] = []

    def write():
        changed.extend(_replace_accounts(session, cipher, member, choices, today))

    _flush_guarded(session, cipher, write, user_key=None, parsed=None, choices=choices, exclude_member_id=member.id)
    session.expire(member, ["accounts"])
    return changed


def _companies_after_move(cipher: FieldCipher, member: Member, chosen: set[str], lg_code: str | None
                          ) -> list[ResourceChoice]:
    """The customer numbers a move keeps (the move named no new number for their resource) at
    the new region's company: the one company serving it there (KEPCO, the 시·군·구's
    waterworks), or, where several do, none yet ("": companies_to_ask, the member is asked
    on the next my-info or balance turn). An account already at that one company, or a
    region whose companies are not known, is left as it is."""
    out = []
    for account in active_accounts(member):
        if account.resource in chosen or account.billing_mode != "separate" or not account.customer_number_enc:
            continue
        companies = [c.code for c in serving(account.resource, lg_code)]
        if not companies:
            continue
        company = companies[0] if len(companies) == 1 else NO_COMPANY
        if (account.company or NO_COMPANY) == company:
            continue
        out.append(ResourceChoice(resource=account.resource, billing_mode="separate",
                                  customer_number=cipher.decrypt(account.customer_number_enc),
                                  tariff=account.tariff, utility=company or None))
    return out


def companies_to_ask(member: Member) -> list[str]:
    """Resources whose active, separately billed account has no utility company while the
    member's region has several (after a move): the chat asks which one bills the number."""
    return [a.resource for a in active_accounts(member)
            if a.billing_mode == "separate" and a.customer_number_enc and not a.company
            and len(serving(a.resource, member.local_government_code)) > 1]


def sigungu_to_ask(session: Session, member: Member, on: date) -> list[LocalGovernment]:
    """The 구 to ask an active member about whose 시·군·구 is not known because the address names
    one a reorganisation split without saying which side (joined before the chat asked it, or
    by a registry row an operator took with the 시·군·구 open); none otherwise."""
    if member.status != "active" or member.local_government_code or not member.address:
        return []
    return successors_to_ask(session, member.address, on)


def confirm_local_government(session: Session, clock: Clock, member: Member, code: str, rules=None
                             ) -> tuple[LocalGovernment | None, bool]:
    """The member's answer to sigungu_to_ask: the 시·군·구, also on the address-history rows of
    the address it answers (the member lived there all along, so the halves since are that
    구's); the numbers' companies where one company serves the 구 (the waterworks), with their
    readings kept under no company (adopt_unassigned_readings), as a registration would; the
    incentive type the 구 offers. Returns (the 시·군·구, or None when the answer is not one of the
    successors; whether the incentive type fell back to the default)."""
    lg = next((s for s in sigungu_to_ask(session, member, today_kst(clock)) if s.code == code), None)
    if lg is None:
        return None, False
    rules = _rules(rules)
    _drop_prepared(session, member)
    member.local_government_code = lg.code
    rows = session.scalars(select(MemberAddress).where(MemberAddress.member_id == member.id)
                           .order_by(MemberAddress.valid_from.desc(), MemberAddress.id.desc())).all()
    for row in rows:  # the current address's rows: the newest, back to one with a 시·군·구
        if row.local_government_code is not None:
            break
        row.local_government_code = lg.code
    reset = member.incentive_type not in offered_incentive_types(lg, rules)
    if reset:
        member.incentive_type = rules.default_incentive_type
        member.bank_name = member.account_number_enc = member.account_holder = None
    filled = []
    for account in active_accounts(member):
        companies = [c.code for c in serving(account.resource, lg.code)]
        if account.billing_mode == "separate" and account.customer_number_enc and not account.company \
                and len(companies) == 1 and not session.scalar(select(ResourceAccount.id).where(
                    ResourceAccount.resource == account.resource, ResourceAccount.company == companies[0],
                    ResourceAccount.supply_key_hash == account.supply_key_hash, ResourceAccount.ended_on.is_(None),
                    ResourceAccount.id != account.id).limit(1)):  # another member's number there: left open
            account.company = companies[0]
            filled.append(account)
    session.flush()
    if filled:
        adopt_unassigned_readings(session, filled)
    return lg, reset


def confirm_company(session: Session, member: Member, resource: str, company: str) -> bool:
    """The member's answer to companies_to_ask: the account's company, and the readings of its
    number nobody's company had (adopt_unassigned_readings). False when nothing was asked (or
    the company does not serve the member's region)."""
    account = account_for(member, resource)
    if account is None or account.company or resource not in companies_to_ask(member) \
            or company not in {c.code for c in serving(resource, member.local_government_code)}:
        return False
    _drop_prepared(session, member)
    account.company = company
    session.flush()
    adopt_unassigned_readings(session, [account])
    return True


def place_address(session: Session, address: ParsedAddress, on: date, chosen: str | None = None
                  ) -> LocalGovernment | None:
    """The local government of an address on a day; where the address names a 구 that a
    reorganisation split without saying which side, the successor ``chosen`` (if it is one)."""
    lg, successors = placement(session, address, on)
    if lg is None and chosen:
        lg = next((s for s in successors if s.code == chosen), None)
    return lg


def move_house(session: Session, cipher: FieldCipher, clock: Clock, member: Member, parsed: ParsedAddress,
               choices: Sequence[ResourceChoice] = (), rules=None, chosen_lg: str | None = None
               ) -> LocalGovernment | None:
    """New address (same rules as signup: not Seoul, household not joined by someone else),
    its 시군구, an address-history row from today, and the resources of the new home. An
    incentive type the new 시군구 does not offer falls back to the default (donation).
    Returns the new local government (None when not known yet)."""
    _drop_prepared(session, member)
    rules = _rules(rules)
    member = _active(member)
    if parsed.is_seoul:
        raise SeoulAddress()
    choices = check_resources(choices, rules) if choices else []
    lg = place_address(session, parsed, today_kst(clock), chosen_lg)
    fill_utilities(choices, lg.code if lg else None)
    _raise_for_conflict(session, cipher, user_key=None, parsed=parsed, choices=choices, exclude_member_id=member.id)
    today = today_kst(clock)

    def write():
        member.address, member.address_detail = parsed.base, parsed.detail or None
        member.household_hash = household_hash(cipher, parsed)
        member.local_government_code = lg.code if lg else None
        if member.incentive_type not in offered_incentive_types(lg, rules):
            member.incentive_type = rules.default_incentive_type
            member.bank_name = member.account_number_enc = member.account_holder = None
        session.add(MemberAddress(member_id=member.id, local_government_code=member.local_government_code,
                                  valid_from=today))
        if choices:
            _replace_accounts(session, cipher, member, choices, today)
        moved = _companies_after_move(cipher, member, {c.resource for c in choices}, member.local_government_code)
        if moved:
            _replace_accounts(session, cipher, member, moved, today)

    _flush_guarded(session, cipher, write, user_key=None, parsed=parsed, choices=choices, exclude_member_id=member.id)
    session.expire(member, ["accounts"])
    return lg


def leave_for_seoul(session: Session, cipher: FieldCipher, clock: Clock, member: Member,
                    parsed: ParsedAddress | None = None) -> None:
    """A move into Seoul ends energy participation (spec E3: Seoul is Eco-mileage; nobody is a
    member of both). In the caller's transaction: the member becomes `left` with the day it
    ended (`withdrawn_at`), the Seoul address is recorded (address history without a 시·군·구),
    the resource accounts end today, campaign consent is withdrawn and pending notifications
    are skipped (no push reaches a member who is not active). The ledger, the statements and
    what is needed to pay halves already ended (name, account) are kept: the settlement
    evaluates the member for halves that ended before the move, as for a withdrawal, and the
    old 시·군·구 pays them."""
    from core.models import Notification

    member = _active(member)
    _drop_prepared(session, member)
    if parsed is not None and not parsed.is_seoul:
        raise InvalidValue("address", "not_seoul")
    now, today = utcnow_naive(clock), today_kst(clock)
    member.status = "left"
    member.withdrawn_at = now
    if parsed is not None:
        member.address, member.address_detail = parsed.base, parsed.detail or None
        member.household_hash = household_hash(cipher, parsed)
    member.local_government_code = None
    member.marketing_opt_in = False
    member.campaign_opt_out = True
    consents = dict(member.consents or {})
    consents["left_for_seoul_at"] = now.isoformat(timespec="seconds")
    member.consents = consents
    for account in member.accounts:
        if account.ended_on is None:
            account.ended_on = today
    session.add(MemberAddress(member_id=member.id, local_government_code=None, valid_from=today))
    session.execute(
        update(Notification).where(Notification.member_id == member.id, Notification.state == "pending")
        .values(state="skipped", last_error="member left for Seoul"))
    session.flush()


def left_member_for_user(session: Session, user_key: str | None) -> Member | None:
    """The member this chat user was until leaving for Seoul (the newest), else None."""
    if not user_key:
        return None
    return session.scalars(select(Member).where(Member.bot_user_key == user_key, Member.status == "left")
                           .order_by(Member.id.desc())).first()


def change_mobile(session: Session, member: Member, mobile: str) -> None:
    member = _active(member)
    member.mobile = normalise_mobile(mobile)
    session.flush()


def change_head_of_household(session: Session, member: Member, head: str | None) -> None:
    """The head of household (세대주) after a change in the resident register; None: the member
    is, stored as the member's name as at signup. A household's only (shops and schools have none)."""
    member = _active(member)
    if member.member_type not in HOUSEHOLD_MEMBER_TYPES:
        raise InvalidValue("only a household member has a head of household")
    member.head_of_household = normalise_name(head, "individual") if head else member.name
    session.flush()


def change_email(session: Session, member: Member, email: str | None) -> None:
    """The optional e-mail address: a new one, or None to keep none."""
    member = _active(member)
    member.email = normalise_email(email) if email else None
    session.flush()


def set_marketing(session: Session, clock: Clock, member: Member, opt_in: bool) -> None:
    """Advertising consent (campaign messages): given or withdrawn at once, with its date."""
    member = _active(member)
    stamp = utcnow_naive(clock).isoformat(timespec="seconds")
    consents = dict(member.consents or {})
    consents["optional"] = bool(opt_in)
    consents["optional_at"] = stamp
    member.consents = consents
    member.marketing_opt_in = bool(opt_in)
    member.campaign_opt_out = not opt_in
    if not opt_in:
        # Honoured at once: campaign messages already queued for this member are not sent.
        from core.models import Notification

        session.execute(
            update(Notification).where(Notification.member_id == member.id, Notification.kind == "campaign",
                                       Notification.state == "pending")
            .values(state="skipped", last_error="campaign opt-out"))
    session.flush()


def purge_expired_dialogs(session: Session, clock: Clock) -> int:
    """Forget unfinished dialogs (a signup's name, mobile, address) once DIALOG_TTL has passed,
    instead of when the user next writes. Returns the number of states cleared; safe to run
    from a scheduler at any interval."""
    now = utcnow_naive(clock)
    result = session.execute(
        update(DialogState).where(DialogState.dialog.is_not(None), DialogState.expires_at < now)
        .values(dialog=None, step=None, slots={}, failures=0, expires_at=None))
    return rowcount(result) or 0


PERSONAL_COLUMNS = (
    "name", "head_of_household", "mobile", "email", "address", "address_detail", "household_hash",
    "bank_name", "account_number_enc", "account_holder", "motivation", "floor_area", "move_in_date",
    "referrer", "bot_user_key", "app_user_id", "plusfriend_user_key",
)


def withdraw(session: Session, clock: Clock, member: Member) -> None:
    """Delete the member's personal data and keep the ledger by member id, without identity.

    In the caller's transaction: personal columns cleared, accounts ended and their customer
    numbers removed, campaign consent withdrawn, pending notifications skipped, the chat
    user's dialog state cleared. Signing up again afterwards works (nothing unique is left)."""
    _drop_prepared(session, member)
    from core.models import Notification

    member = _active(member)
    now, today = utcnow_naive(clock), today_kst(clock)
    user_key = member.bot_user_key
    for column in PERSONAL_COLUMNS:
        setattr(member, column, None)
    member.status = "withdrawn"
    member.withdrawn_at = now
    member.consents = {"withdrawn_at": now.isoformat(timespec="seconds")}
    member.marketing_opt_in = False
    member.campaign_opt_out = True
    for account in member.accounts:
        if account.ended_on is None:
            account.ended_on = today
        account.customer_number_enc = None
        account.supply_key_hash = None
    session.execute(
        update(Notification).where(Notification.member_id == member.id, Notification.state == "pending")
        .values(state="skipped", last_error="member withdrawn"))
    if user_key:
        state = session.get(DialogState, user_key)
        if state is not None:
            state.dialog = state.step = None
            state.slots, state.failures, state.expires_at = {}, 0, None
        session.execute(delete(MissStreak).where(MissStreak.user_key == user_key))
    session.flush()


def first_evaluated_half(clock: Clock, rules=None):
    """The first half a resource registered today is evaluated for (E7, join_cutoff)."""
    from core.points.periods import Half

    today = today_kst(clock)
    half = Half.of_date(today)
    return half if today == half.start else half.next()
