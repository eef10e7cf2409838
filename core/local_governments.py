"""Local governments (시군구) and Korean addresses: parsing, Seoul detection, matching, seeding.

A citizen types an address in the chat ("경기 수원시 영통구 예시로 123 101동 1203호"). This module
splits it into the base address and the unit, puts the 시/도 in its canonical form (경기 -> 경기도),
says whether it is in Seoul (spec §3.2 E3: Seoul residents use Eco-mileage), and finds the
local government whose `address_prefixes` match, longest prefix first.

`seed_local_governments()` loads a small default set (core/data/local_governments.csv) for tests
and demo data; the same loader reads an operator's full list and rejects bad rows with their
line numbers before anything is written.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import LocalGovernment, Member, MemberAddress

DEFAULT_FILE = Path(__file__).with_name("data") / "local_governments.csv"

SEOUL = "서울특별시"

# Canonical 시/도 -> the spellings people type. 강원/전북 became 특별자치도 in 2023/2024; the old
# names are still on many bills and in habits.
SIDO_SPELLINGS: dict[str, tuple[str, ...]] = {
    "서울특별시": ("서울특별시", "서울시", "서울"),
    "부산광역시": ("부산광역시", "부산시", "부산"),
    "대구광역시": ("대구광역시", "대구시", "대구"),
    "인천광역시": ("인천광역시", "인천시", "인천"),
    "광주광역시": ("광주광역시", "광주"),  # not "광주시": that is also 경기도 광주시
    "대전광역시": ("대전광역시", "대전시", "대전"),
    "울산광역시": ("울산광역시", "울산시", "울산"),
    "세종특별자치시": ("세종특별자치시", "세종시", "세종"),
    "경기도": ("경기도", "경기"),
    "강원특별자치도": ("강원특별자치도", "강원도", "강원"),
    "충청북도": ("충청북도", "충북"),
    "충청남도": ("충청남도", "충남"),
    "전북특별자치도": ("전북특별자치도", "전라북도", "전북"),
    "전라남도": ("전라남도", "전남"),
    "경상북도": ("경상북도", "경북"),
    "경상남도": ("경상남도", "경남"),
    "제주특별자치도": ("제주특별자치도", "제주도", "제주"),
}
_SIDO_OF: dict[str, str] = {alias: canon for canon, aliases in SIDO_SPELLINGS.items() for alias in aliases}
SIDOS = tuple(SIDO_SPELLINGS)

_SPACE = re.compile(r"\s+")
_PARENS = re.compile(r"\([^)]*\)")
# Road address core: "<road name ending in 로/길> <building number>", e.g. "세종대로 110",
# "중앙로12번길 34", "예시로 123-4".
_ROAD = re.compile(r"(?<!\S)(?P<road>[가-힣A-Za-z0-9.·]*[가-힣0-9](?:로|길))\s*(?P<no>\d{1,5}(?:-\d{1,5})?)(?!\d)(?!\s*[동호층])")
# Lot address core: "<동/리/가> <lot number>", e.g. "영통동 1012-1", "산 12"; the 동/리/가 word must
# start with Hangul so that a unit such as "101동" is not taken for it.
_LOT = re.compile(r"(?<!\S)(?P<area>[가-힣][가-힣0-9]*(?:동|리|가))\s+(?P<no>산\s*\d{1,5}(?:-\d{1,5})?|\d{1,5}(?:-\d{1,5})?)(?:\s*번지)?(?!\d)(?!\s*[동호층])")
_SIGUNGU = re.compile(r"^[가-힣]+(?:시|군|구)$")


class LocalGovernmentDataError(ValueError):
    """Bad rows in a local-government file; `errors` lists 'line N: problem'."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class ParsedAddress:
    """A typed address split into its parts. `base` is canonical (시/도 spelled out, single
    spaces, no reference notes in brackets); `detail` is the unit (동/호/층) or ""."""

    sido: str | None
    base: str
    detail: str
    kind: str  # road | lot

    @property
    def is_seoul(self) -> bool:
        return self.sido == SEOUL

    @property
    def full(self) -> str:
        return f"{self.base} {self.detail}".strip()


def clean(text: str | None) -> str:
    """NFC, single spaces, no surrounding blanks."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


# An address answered in a sentence: the framing before it ("주소는", "새 주소는", "우리 집은")
# and the sentence after it ("…123이에요", "…235로 이사했어요", "…에 살아요") are not the address.
_ADDRESS_BEFORE = re.compile(
    r"^(?:(?:제|저의|저희|우리|내|새|새로운|바뀐|이사한|이사\s*간|이사\s*온|현재|지금)\s*)*"
    r"(?:집\s*)?(?:주소|집|사는\s*곳)\s*(?:은|는|가|이|:)\s*")
_ADDRESS_AFTER = re.compile(
    r"(?:\s*(?:으로|로|에|에서)?\s*(?:이사\s*(?:했|왔|갔|가|와|할|합|해|예정)\S*|살(?:아요|아|고\s*있\S*)|삽니다"
    r"|거주\S*)|\s*(?:입니다|이에요|이예요|예요|에요|이고요|이요|인데요)|(?<=[\d호동층])\s*요)\s*[.!~^]*$")


# The postcode an address copied from a search result or a parcel label starts with:
# "[16677] 경기도 …", "(16677) …", "우편번호 16677 …", "16677 경기도 …"
_POSTCODE = re.compile(r"^(?:우편\s*번호\s*:?\s*|\(?우\)\s*)?[\[(]?\s*\d{5}\s*[\])]?\s+(?=\D)")


def address_in_sentence(text: str | None) -> str:
    """An address typed in a sentence, without the sentence ("주소는 경기도 … 123이에요" ->
    "경기도 … 123") or a postcode before it; an address typed alone is returned as it was
    (cleaned)."""
    t = clean(text)
    t = _ADDRESS_BEFORE.sub("", t, count=1)
    t = _POSTCODE.sub("", t, count=1)
    while True:
        shorter = _ADDRESS_AFTER.sub("", t).rstrip()
        if shorter == t or not shorter:
            return t
        t = shorter


def sido_of(text: str | None) -> str | None:
    """Canonical 시/도 named by the first word of `text` (also "서울특별시중구" glued), else None."""
    words = clean(text).replace(",", " ").split(" ")
    first = words[0] if words and words[0] else ""
    if first in _SIDO_OF:
        return _SIDO_OF[first]
    for alias in sorted(_SIDO_OF, key=len, reverse=True):
        if len(alias) >= 3 and first.startswith(alias):
            return _SIDO_OF[alias]
    return None


def mentions_seoul(text: str | None) -> bool:
    """True when the text starts with a Seoul spelling (서울/서울시/서울특별시)."""
    return sido_of(text) == SEOUL


def canonical_sido_text(text: str) -> str:
    """Replace a short or old 시/도 spelling at the start by the canonical one."""
    t = clean(text)
    first, _, rest = t.partition(" ")
    canon = _SIDO_OF.get(first)
    if canon is None:
        for alias in sorted(_SIDO_OF, key=len, reverse=True):
            if len(alias) >= 3 and first.startswith(alias):
                canon, rest = _SIDO_OF[alias], f"{first[len(alias):]} {rest}".strip()
                break
    if canon is None:
        return t
    return f"{canon} {rest}".strip()


def parse_address(text: str | None, detail: str | None = None) -> ParsedAddress | None:
    """Split a typed address into base and unit; None when it does not look like a road or lot
    address (no road + building number, no 동/리 + lot number).

    The 시/도 may be missing (sido None): callers then try to infer it from a known 시군구.
    """
    t = canonical_sido_text(_PARENS.sub(" ", _POSTCODE.sub("", clean(strip_markup(text)), count=1)))
    t = clean(t.replace(",", " , "))
    match = _ROAD.search(t)
    kind = "road"
    if match is None:
        match = _LOT.search(t)
        kind = "lot"
    if match is None:
        return None
    number = match.group("no").replace(" ", "")
    head = clean(t[: match.start()].replace(",", " "))
    core = match.group("road") if kind == "road" else match.group("area")
    base = clean(f"{head} {core} {number}")
    rest = clean(t[match.end():].replace(",", " "))
    unit = clean(strip_markup(detail)) if detail is not None else rest
    return ParsedAddress(sido=sido_of(base), base=base, detail=unit, kind=kind)


def normalise_unit(detail: str | None) -> str:
    """A unit written in the usual ways gives one key: "101동 1203호" = "101-1203" = "101동1203호"."""
    d = clean(detail).replace("제", "").lower()
    d = re.sub(r"\s+", "", d)
    m = re.fullmatch(r"([0-9a-z가-힣]+?)동(?:([0-9a-z]+)층)?([0-9a-z-]+)호?", d)
    if m and m.group(3):
        return f"{m.group(1)}-{m.group(3)}"
    m = re.fullmatch(r"([0-9a-z]+)-([0-9a-z]+)", d)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = re.fullmatch(r"(?:[0-9a-z]+층)?([0-9a-z-]+)호", d)
    if m:
        return m.group(1)
    return d


_UNIT_NO = r"[a-z]?\d{1,5}[a-z]?"
_UNIT_FORMS = (
    # (pattern on the unit without spaces, lower case, '제' dropped; canonical form)
    (re.compile(rf"(?P<b>[0-9a-z가-힣]{{1,8}}?)동(?:(?P<f>b?\d{{1,3}})층)?(?P<n>{_UNIT_NO})호?"), "{b}동 {f}{n}호"),
    (re.compile(rf"(?P<b>{_UNIT_NO})-(?P<n>{_UNIT_NO})호?"), "{b}동 {n}호"),
    (re.compile(rf"(?:(?P<f>b?\d{{1,3}})층)?(?P<n>{_UNIT_NO})호?"), "{f}{n}호"),
    (re.compile(r"(?P<b>[0-9a-z가-힣]{1,8}?)동(?:(?P<f>b?\d{1,3})층)?"), "{b}동 {f}"),
    (re.compile(r"(?P<f>b?\d{1,3})층"), "{f}"),
)
_UNIT_ENDING = re.compile(r"(?:이에요|예요|입니다|이요|요)$")


def parse_unit(text: str | None) -> str | None:
    """A unit typed on its own, in the usual forms, in one spelling: "1203" and "1203호" ->
    "1203호"; "101-1203", "101동1203호", "제101동 1203" -> "101동 1203호"; "2층 201호" as is.
    None when it is not a unit (no number, other words)."""
    d = clean(unicodedata.normalize("NFKC", strip_markup(text))).lower()
    d = _UNIT_ENDING.sub("", re.sub(r"\s+", "", d.replace("제", "")))
    if not d or len(d) > 30:
        return None
    for pattern, form in _UNIT_FORMS:
        m = pattern.fullmatch(d)
        if m and re.search(r"\d", d):
            g = {k: (v or "") for k, v in m.groupdict().items()}
            if g.get("f"):
                g["f"] = f"{g['f'].upper()}층" + (" " if g.get("n") else "")
            for key in ("b", "n"):
                if key in g:
                    g[key] = g[key].upper()
            return form.format(**g).strip()
    return None


_MARKUP = re.compile(r"<[^>]{0,200}>|&[a-z]{2,8};|&#\d{1,6};", re.IGNORECASE)
_U_DASH = re.compile(r"(?<![0-9a-z])(?P<b>\d{1,5})-(?P<n>(?:b|지하)?\d{1,5})(?:호)?(?![0-9])")
_U_HO = re.compile(r"(?P<bsm>지하|b)?(?P<n>\d{1,5})(?P<s>[a-z]?)호")
_U_DONG = re.compile(r"(?<![0-9a-z가-힣])(?:제)?(?P<b>\d{1,5}|[a-z]{1,2}\d{0,3}|[가-힣])동(?![가-힣]{2})")
_U_FLOOR = re.compile(r"(?:(?P<bsm>지하|b)(?P<bf>\d{1,2})층?|(?P<f>\d{1,3})층)")
_U_BARE = re.compile(r"(?<![0-9a-z])(?P<bsm>지하|b)?(?P<n>\d{1,5})(?![0-9a-z])")


@dataclass(frozen=True)
class Unit:
    """A unit by its structure: 동 (building), 호 (door) and 층 (floor), normalised. `ho` of a
    basement door starts with 'B' (지하 101호 = B101호); `floor` is 'B1' for a basement floor.
    Whatever else was typed (a nickname, markup) is not part of it."""

    dong: str = ""
    ho: str = ""
    floor: str = ""

    @property
    def key(self) -> str:
        """The unit's part of the household key. The floor counts only when there is no door
        number (a door number names the unit; '2층 201호' is '201호'). Kept in the spelling the
        old key gave the common forms ('101-1203', '1203')."""
        if self.ho:
            return f"{self.dong.lower()}-{self.ho.lower()}" if self.dong else self.ho.lower()
        parts = [f"{self.dong.lower()}동" if self.dong else "", f"{self.floor.lower()}층" if self.floor else ""]
        return "".join(parts)

    @property
    def text(self) -> str:
        """The canonical spelling: '101동 1203호', 'B1층', '101동 3층'."""
        parts = [f"{self.dong}동" if self.dong else "", f"{self.floor}층" if self.floor and not self.ho else "",
                 f"{self.ho}호" if self.ho else ""]
        return " ".join(p for p in parts if p)

    def __bool__(self) -> bool:
        return bool(self.dong or self.ho or self.floor)


def strip_markup(text: str | None) -> str:
    """Tags and character entities removed ('<b>202동</b>' -> '202동')."""
    return _MARKUP.sub(" ", text or "")


def unit_structure(text: str | None) -> Unit:
    """The 동, 호 and 층 found in a typed unit, wherever they stand and whatever surrounds them:
    '202동 1504호', '202동 1504호 우리집', '<b>202동</b> 1504호', '제202동 1504', '202-1504' are
    one unit; '지하 1층', 'B1층' and 'b1' are the floor B1; '지하 101호' and 'B101호' the door B101."""
    d = clean(unicodedata.normalize("NFKC", strip_markup(text))).lower()
    d = re.sub(r"\s*([-동호층])", r"\1", d)
    d = re.sub(r"(지하|제)\s+", r"\1", d)
    dong = ho = floor = ""

    def take(m: re.Match) -> str:
        return " " * len(m.group())

    m = _U_HO.search(d)
    if m:
        ho = ("B" if m.group("bsm") else "") + str(int(m.group("n"))) + m.group("s").upper()
        d = d[: m.start()] + take(m) + d[m.end():]
    m = _U_DONG.search(d)
    if m:
        b = m.group("b")
        dong = str(int(b)) if b.isdigit() else b.upper()
        d = d[: m.start()] + take(m) + d[m.end():]
    if not dong and not ho:
        m = _U_DASH.search(d)
        if m:
            dong = str(int(m.group("b")))
            n = m.group("n")
            bsm = n.startswith(("b", "지하"))
            ho = ("B" if bsm else "") + str(int(re.sub(r"\D", "", n)))
            d = d[: m.start()] + take(m) + d[m.end():]
    m = _U_FLOOR.search(d)
    if m:
        floor = f"B{int(m.group('bf'))}" if m.group("bsm") else str(int(m.group("f")))
        d = d[: m.start()] + take(m) + d[m.end():]
    if not ho:
        bare = list(_U_BARE.finditer(d))
        if len(bare) == 1:
            m = bare[0]
            ho = ("B" if m.group("bsm") else "") + str(int(m.group("n")))
    if floor.startswith("B") and ho and not ho.startswith("B") and len(ho) <= 3:
        ho = "B" + ho  # '지하 1층 101호': a basement door
    return Unit(dong=dong, ho=ho, floor=floor)


def household_key(parsed: ParsedAddress) -> str:
    """The text hashed for the one-member-per-household rule (E1): the canonical base address
    and the unit's structure (동, 호, 층); other words typed with the unit do not count."""
    return f"{parsed.base}|{unit_structure(parsed.detail).key}"


# --- matching ---------------------------------------------------------------------------------

def prefixes_for(sido: str, name: str, extra: Iterable[str] = ()) -> list[str]:
    """Address prefixes of a 시군구: canonical, then every short spelling of its 시/도."""
    out: list[str] = []
    for alias in SIDO_SPELLINGS.get(sido, (sido,)):
        out.append(alias if name == sido else f"{alias} {name}")
    for p in extra:
        p = clean(p)
        if p and p not in out:
            out.append(p)
    return out


def _starts_with_words(text: str, prefix: str) -> bool:
    return text == prefix or text.startswith(prefix + " ")


@lru_cache(maxsize=4096)
def _canonical_prefix(prefix: str) -> str:
    return canonical_sido_text(prefix)


def match_local_government(session: Session, address: str | ParsedAddress, on: date | None = None
                           ) -> LocalGovernment | None:
    """The local government whose prefix (canonicalised) starts the address, longest first.
    Reads codes and prefixes only (every 시군구 of the country is a few hundred rows) and loads
    the one that matches. `on`: the day the address is placed; a unit a reorganisation abolished
    by then gives way to its successor (core.sigungu.current_unit), and an address that does not
    say which successor it is in matches none (never the ended unit)."""
    if on is None:
        base = address.base if isinstance(address, ParsedAddress) else canonical_sido_text(address)
        best = _matched_code(session, base)
        return session.get(LocalGovernment, best) if best is not None else None
    return placement(session, address, on)[0]


def placement(session: Session, address: str | ParsedAddress, on: date
              ) -> tuple[LocalGovernment | None, list[LocalGovernment]]:
    """(the local government of an address on a day, as match_local_government; the successors
    to ask the citizen about when the address names a unit a reorganisation split and does not
    say which successor it is in, 인천 서구 + a road name, else none). One pass over the
    prefixes for both."""
    from core.sigungu import current_unit  # core.sigungu builds on this module

    base = address.base if isinstance(address, ParsedAddress) else canonical_sido_text(address)
    code = _matched_code(session, base)
    if code is None:
        return None, []
    placed = current_unit(code, base, on)
    if placed.code is not None:
        return session.get(LocalGovernment, placed.code), []
    found = [session.get(LocalGovernment, unit.code) for unit in placed.candidates]
    return None, [lg for lg in found if lg is not None]


def _matched_code(session: Session, base: str) -> str | None:
    best, best_len = None, -1
    for code, prefixes in session.execute(select(LocalGovernment.code, LocalGovernment.address_prefixes)):
        for prefix in prefixes or []:
            p = _canonical_prefix(prefix)
            if len(p) > best_len and _starts_with_words(base, p):
                best, best_len = code, len(p)
    return best


def successors_to_ask(session: Session, address: str | ParsedAddress, on: date) -> list[LocalGovernment]:
    """The successors to ask about for an address (see :func:`placement`)."""
    return placement(session, address, on)[1]


def infer_sido(session: Session, parsed: ParsedAddress) -> ParsedAddress:
    """An address typed without 시/도 ("수원시 영통구 ...") gets it from the one known 시군구 whose
    name starts it; ambiguous or unknown names leave it as it was."""
    if parsed.sido is not None:
        return parsed
    found = {
        sido for sido, name in session.execute(select(LocalGovernment.sido, LocalGovernment.name))
        if name != sido and _starts_with_words(parsed.base, name)
    }
    if len(found) != 1:
        return parsed
    sido = found.pop()
    return ParsedAddress(sido=sido, base=f"{sido} {parsed.base}", detail=parsed.detail, kind=parsed.kind)


def _spellings_of(name: str) -> dict[str, bool]:
    """How people write a 시군구 name, spaces taken out, each with whether it must end a word:
    in full ("수원시영통구": also glued to what follows), a city's 시 dropped before its 구
    ("수원영통구"), the 구/군 alone ("영통구"), a 시/군 alone without its suffix ("화성"). The
    short ones must end a word: "영통구청로" and "화성로" are roads. Which of them name one
    place is decided by the caller."""
    words = name.split(" ")
    out = {"".join(words): False}
    if len(words) >= 2:
        out.setdefault(words[-1], True)
        if words[0].endswith("시") and len(words[0]) >= 3:
            out.setdefault(words[0][:-1] + "".join(words[1:]), True)
    elif len(name) >= 3 and name[-1] in "시군구" and name[:-1] not in _SIDO_OF:
        out.setdefault(name[:-1], True)  # 화성, 양평, 해운대
    return out


def _end_of(text: str, letters: int) -> int:
    """The index in ``text`` just after its first ``letters`` non-space characters."""
    seen = idx = 0
    while seen < letters:
        if not text[idx].isspace():
            seen += 1
        idx += 1
    return idx


def respell_address(session: Session, text: str | None) -> str:
    """A typed address with its 시/도 and 시군구 written out the way the local governments'
    prefixes are, when the way it starts names exactly one 시군구 (of the 시/도 it names, if it
    names one): typed without spaces ("경기도수원시영통구예시로123"), the 시 of a city left out
    ("수원 영통구", "포항 남구"), the 시/도 left out, or only a 구 the country has once
    ("영통구 예시로 123"). Anything else ("중구 세종대로 110": 중구 is in six 시/도) is returned as
    typed, for the caller's own checks. A sentence around the address is dropped first
    (:func:`address_in_sentence`)."""
    t = canonical_sido_text(address_in_sentence(text))
    sido = sido_of(t)
    rest = t[len(sido):].strip() if sido is not None and t.startswith(sido) else t
    squashed = rest.replace(" ", "")
    if not squashed:
        return t
    best: set[tuple[str, str]] = set()
    best_len = 0
    for lg_sido, name in session.execute(select(LocalGovernment.sido, LocalGovernment.name)):
        if name == lg_sido or (sido is not None and lg_sido != sido):
            continue
        for spelling, word in _spellings_of(name).items():
            n = len(spelling)
            if n < best_len or not squashed.startswith(spelling):
                continue
            end = _end_of(rest, n)
            if word and end < len(rest) and not rest[end].isspace():
                continue
            if n > best_len:
                best, best_len = set(), n
            best.add((lg_sido, name))
    if len(best) != 1:
        return t
    lg_sido, name = best.pop()
    return clean(f"{lg_sido} {name} {rest[_end_of(rest, best_len):]}")


def looks_complete(parsed: ParsedAddress) -> bool:
    """A 시/도, then (except 세종) a 시/군/구 word, then the road or lot core."""
    if parsed.sido is None:
        return False
    words = parsed.base.split(" ")
    if parsed.sido == "세종특별자치시":
        return len(words) >= 3
    return len(words) >= 4 and any(_SIGUNGU.match(w) for w in words[1:-2])


# --- seeding ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalGovernmentRow:
    code: str
    sido: str
    name: str
    address_prefixes: list[str] = field(default_factory=list)
    won_per_point: Decimal = Decimal("2")
    incentive_types: list[str] = field(default_factory=list)
    payout_month_h1: int = 12
    payout_month_h2: int = 6
    contact: str | None = None


_COLUMNS = ("code", "sido", "name", "prefixes", "won_per_point", "incentive_types",
            "payout_month_h1", "payout_month_h2", "contact")


def read_local_governments(text: str, rules=None) -> list[LocalGovernmentRow]:
    """Parse the CSV text (lines starting with # are comments). Every bad row is reported with
    its line number in one LocalGovernmentDataError; nothing is returned half-read."""
    from core.rules import RulesError, default_rules, validate_rate

    rules = rules or default_rules()
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise LocalGovernmentDataError(["no rows"])
    header_no, header = lines[0]
    reader = csv.reader(io.StringIO(header))
    columns = [c.strip() for c in next(reader)]
    if tuple(columns) != _COLUMNS:
        raise LocalGovernmentDataError([f"line {header_no}: header must be {','.join(_COLUMNS)}"])
    rows, errors, seen = [], [], set()
    for n, line in lines[1:]:
        values = next(csv.reader(io.StringIO(line)))
        if len(values) != len(_COLUMNS):
            errors.append(f"line {n}: {len(values)} fields, expected {len(_COLUMNS)}")
            continue
        v = dict(zip(_COLUMNS, (x.strip() for x in values)))
        problems = []
        if not re.fullmatch(r"\d{5}", v["code"]):
            problems.append(f"code {v['code']!r} is not 5 digits")
        elif v["code"] in seen:
            problems.append(f"code {v['code']} repeated")
        if v["sido"] not in SIDO_SPELLINGS:
            problems.append(f"sido {v['sido']!r} is not a 시/도 name")
        if not v["name"]:
            problems.append("name is empty")
        try:
            rate = validate_rate(v["won_per_point"] or "2", rules)
        except (RulesError, InvalidOperation, ValueError) as exc:
            problems.append(f"won_per_point: {exc}")
            rate = Decimal("2")
        types = [t for t in v["incentive_types"].split("|") if t]
        unknown = [t for t in types if t not in rules.incentive_types]
        if unknown:
            problems.append(f"unknown incentive types {unknown}")
        months = {}
        for col in ("payout_month_h1", "payout_month_h2"):
            try:
                months[col] = int(v[col] or (12 if col.endswith("h1") else 6))
                if not 1 <= months[col] <= 12:
                    raise ValueError
            except ValueError:
                problems.append(f"{col} {v[col]!r} is not a month 1-12")
        if problems:
            errors.extend(f"line {n}: {p}" for p in problems)
            continue
        seen.add(v["code"])
        rows.append(LocalGovernmentRow(
            code=v["code"], sido=v["sido"], name=v["name"],
            address_prefixes=prefixes_for(v["sido"], v["name"], v["prefixes"].split("|") if v["prefixes"] else ()),
            won_per_point=rate, incentive_types=types,
            payout_month_h1=months["payout_month_h1"], payout_month_h2=months["payout_month_h2"],
            contact=v["contact"] or None,
        ))
    if errors:
        raise LocalGovernmentDataError(errors)
    return rows


def default_local_governments() -> list[LocalGovernmentRow]:
    return read_local_governments(DEFAULT_FILE.read_text(encoding="utf-8"))


def seed_local_governments(session: Session, rows: Iterable[LocalGovernmentRow] | None = None) -> tuple[int, int]:
    """Insert or update local governments by code (idempotent); then give members whose
    address was not matched yet their 시군구. Returns (inserted, updated). Runs in the caller's
    transaction."""
    rows = list(default_local_governments() if rows is None else rows)
    inserted = updated = 0
    for row in rows:
        lg = session.get(LocalGovernment, row.code)
        values = dict(sido=row.sido, name=row.name, address_prefixes=list(row.address_prefixes),
                      won_per_point=row.won_per_point, incentive_types=list(row.incentive_types),
                      payout_month_h1=row.payout_month_h1, payout_month_h2=row.payout_month_h2,
                      contact=row.contact, figures_default=False)
        if lg is None:
            session.add(LocalGovernment(code=row.code, **values))
            inserted += 1
        else:
            changed = False
            for key, value in values.items():
                if getattr(lg, key) != value:
                    setattr(lg, key, value)
                    changed = True
            updated += changed
    session.flush()
    assign_missing_local_governments(session)
    return inserted, updated


def assign_missing_local_governments(session: Session, on: date | None = None) -> int:
    """Members who joined with an address of a 시군구 not yet known get it once it is loaded,
    placed as of ``on`` (default today, KST): an abolished unit's name goes to its successor."""
    from core.clock import SystemClock, today_kst

    on = on or today_kst(SystemClock())
    count = 0
    pending = session.scalars(select(Member).where(
        Member.status == "active", Member.local_government_code.is_(None), Member.address.is_not(None)))
    for member in pending:
        assert member.address is not None  # selected for having one
        lg = match_local_government(session, member.address, on=on)
        if lg is not None:
            member.local_government_code = lg.code
            current = session.scalars(
                select(MemberAddress).where(MemberAddress.member_id == member.id)
                .order_by(MemberAddress.valid_from.desc(), MemberAddress.id.desc())).first()
            if current is not None and current.local_government_code is None:
                current.local_government_code = lg.code
            count += 1
    return count


# --- units of registered complexes (core.complexes) --------------------------------------------

_DONG_RE = re.compile(r"^(?:제)?(?P<b>\d{1,5}|[A-Za-z]{1,2}\d{0,3}|[가-힣]{1,4})(?:동)?$")
_HO_RE = re.compile(r"^(?P<bsm>[Bb]|지하)?(?P<n>\d{1,5})(?P<s>[A-Za-z]?)(?:호)?$")


def normalise_dong(value: str | None) -> str | None:
    """'101', '101동', '제101동', '０１０１' -> '101'; 'a동' -> 'A'; None when it is not a 동."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    m = _DONG_RE.fullmatch(t)
    if not m:
        return None
    b = m.group("b")
    return str(int(b)) if b.isdigit() else b.upper()


def normalise_ho(value: str | None) -> str | None:
    """'1203', '1203호', '01203' -> '1203'; 'B101' / '지하101' -> 'B101' (the spelling of
    core.local_governments.Unit.ho); None when it is not a 호."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    m = _HO_RE.fullmatch(t)
    if not m or int(m.group("n")) == 0:
        return None
    return ("B" if m.group("bsm") else "") + str(int(m.group("n"))) + m.group("s").upper()
