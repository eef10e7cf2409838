"""Screening every operator CSV import shares (usage, activities, payout results, and the
member and complex imports to come): reading the bytes in the operator's encoding, CSV syntax
reported on the line a record starts, numbers in ASCII digits only, quantities bounded by what
the database stores, customer numbers checked against the rules' per-resource formats (a lost
leading zero explained), and duplicate rows told apart from conflicting ones.

Every message is operator-facing text in ``core/texts/en/imports.toml`` (``msg``); a message
about a row is shown as ``line N: <message>``. Customer numbers appear masked, never in full.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from core import texts
from core.pii import contains_rrn, digits_only, mask_number
from core.rules import Rules
from core.settings import env_name, fields_of, setting

OPERATOR_LANG = "en"
MAX_INTEGER_DIGITS = 11  # AMOUNT = Numeric(14, 3)
MAX_DECIMALS = 3
MAX_QUANTITY = Decimal("99999999999.999")
MAX_KEY_LEN = 40
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# An Excel workbook given for a CSV: .xlsx is a ZIP file, .xls an OLE2 compound file
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# Names an operator may give to --encoding, by the codec that reads them (EUC-KR is a subset
# of CP949, Excel's "Korean" CSV).
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
             "cp949": "cp949", "ms949": "cp949", "uhc": "cp949", "euc-kr": "cp949", "euckr": "cp949"}
ENCODING_CHOICES = ("utf-8", "cp949", "euc-kr")

_NUMBER_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_SEPARATED_RE = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
_SCIENTIFIC_RE = re.compile(r"^[0-9](\.[0-9]+)?[eE]\+?[0-9]+$")
_KEY_RE = re.compile(r"^[0-9A-Za-z]+$")
_DIGITS_RANGE_RE = re.compile(r"^\^?\\d\{(\d+)(?:,(\d+))?\}\$?$")


def msg(key: str, /, **fmt) -> str:
    """An operator message of core/texts/en/imports.toml (formatted here: TextSet.t's own
    `key` argument would clash with a {key} placeholder)."""
    value = texts.raw(f"imports.{key}", lang=OPERATOR_LANG)
    if not isinstance(value, str):
        raise KeyError(f"imports.{key} is not a text")
    return value.format(**fmt)


# --- settings --------------------------------------------------------------------------------

class ImportSettings(BaseModel):
    """Plausibility bounds of the operator imports (composed into webhooks.config.Settings)."""

    model_config = ConfigDict(validate_assignment=True)

    max_electricity_kwh: int = setting("IMPORT_MAX_ELECTRICITY_KWH", 1_000_000, "Largest plausible monthly electricity use (kWh) of one supply point: `import-usage` refuses a larger amount, or imports it flagged (`import_changes` kind `outlier`) with `--allow-outliers`.", ge=1, le=99_999_999_999)
    max_water_m3: int = setting("IMPORT_MAX_WATER_M3", 100_000, "Largest plausible monthly water use (m³) of one supply point; as above.", ge=1, le=99_999_999_999)
    max_gas_m3: int = setting("IMPORT_MAX_GAS_M3", 500_000, "Largest plausible monthly city-gas use (m³) of one supply point; as above.", ge=1, le=99_999_999_999)

    def monthly_bounds(self) -> dict[str, tuple[Decimal, str]]:
        """resource -> (largest plausible monthly amount, the environment variable setting it)."""
        out = {}
        for name, info in fields_of(type(self)).items():
            resource = name.removeprefix("max_").rsplit("_", 1)[0]
            out[resource] = (Decimal(getattr(self, name)), env_name(info) or name)
        return out


# --- rows and errors -------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:  # line 0: the file as a whole
        return f"line {self.line}: {self.message}" if self.line else self.message


class ImportRejected(Exception):
    """The file was not imported; ``errors`` lists every problem by line number."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__(f"{len(self.errors)} problem(s)")


@dataclass
class CsvRow:
    line: int  # the line the record starts on
    values: dict[str, str]
    raw: list[str]
    expected: tuple[str, ...] = ()  # the file's columns, on a row with the wrong field count


@dataclass
class CsvFile:
    rows: list[CsvRow]
    syntax_errors: list[RowError]
    columns: tuple[str, ...] = ()  # the header as read: the required columns, then optional ones


# --- bytes to text ---------------------------------------------------------------------------

def codec_of(encoding: str) -> str:
    codec = ENCODINGS.get((encoding or "").strip().lower())
    if codec is None:
        raise ImportRejected([RowError(0, msg("file.unknown_encoding", encoding=encoding))])
    return codec


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _line_of(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def decode_operator_bytes(data: bytes, encoding: str = "utf-8") -> str:
    """The text of an operator file. A UTF-8 BOM means UTF-8 whatever was asked; a file that
    does not decode is refused, with a hint to the other encoding when it decodes as that."""
    codec = codec_of(encoding)
    if data.startswith(UTF8_BOM):
        data, codec = data[len(UTF8_BOM):], "utf-8"
    elif data.startswith(UTF16_BOMS):
        raise ImportRejected([RowError(1, msg("file.utf16"))])
    elif data.startswith(WORKBOOK_MAGIC):
        raise ImportRejected([RowError(0, msg("file.workbook"))])
    try:
        content = data.decode(codec)
    except UnicodeDecodeError as exc:
        line, byte = _line_of(data, exc.start), data[exc.start]
        if codec == "utf-8":
            key = "file.not_utf8_try_cp949" if _decodes(data, "cp949") else "file.not_utf8"
        else:
            key = "file.not_cp949_try_utf8" if _decodes(data, "utf-8") else "file.not_cp949"
        raise ImportRejected([RowError(line, msg(key, byte=byte))]) from None
    if codec == "cp949" and not data.isascii() and _decodes(data, "utf-8"):
        first = next(i for i, b in enumerate(data) if b >= 0x80)
        raise ImportRejected([RowError(_line_of(data, first), msg("file.utf8_not_cp949"))])
    return content


# --- CSV -------------------------------------------------------------------------------------

def _syntax_message(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return msg("csv.unterminated_quote")
    if "expected after" in text:
        return msg("csv.quote_inside_field")
    return msg("csv.unreadable", error=text)


def word_key(text: str) -> str:
    """How a cell is compared with the words of core/data/imports.toml: no spaces, lower case."""
    return "".join(text.split()).lower()


_UNIT_SUFFIX = re.compile(r"[(\[][^()\[\]]*[)\]]$")


@cache
def _header_words() -> dict[str, tuple[str, ...]]:
    """word -> the columns it may name (core/data/imports.toml [header_aliases])."""
    out: dict[str, tuple[str, ...]] = {}
    for column, words in texts.data("imports").get("header_aliases", {}).items():
        for word in words:
            key = word_key(word)
            if column not in out.get(key, ()):
                out[key] = (*out.get(key, ()), column)
    return out


def header_column(cell: str, columns: Sequence[str]) -> str:
    """The column of ``columns`` a header cell names: the column's own name (any case), or a
    Korean name of core/data/imports.toml [header_aliases], with or without a unit in brackets
    (사용량(kWh)); else the cell itself, stripped and lower-cased (the caller refuses it)."""
    own = cell.strip().lower()
    if own in columns:
        return own
    key = word_key(cell)
    for word in (key, _UNIT_SUFFIX.sub("", key)):
        named = [c for c in _header_words().get(word, ()) if c in columns]
        if len(named) == 1:
            return named[0]
    return own


def _korean_name(column: str) -> str:
    """The first Korean name of a column (core/data/imports.toml [header_aliases]), or its own."""
    words = texts.data("imports").get("header_aliases", {}).get(column) or [column]
    return words[0]


def check_header(first: Sequence[str], header: Sequence[str], optional: Sequence[str] = ()) -> tuple[str, ...]:
    """The columns of a header line: exactly `header`, then any of `optional` (each at most
    once, in any order), each by its name or a Korean one (:func:`header_column`). Raises
    ImportRejected naming what is expected."""
    got = [header_column(h, (*header, *optional)) for h in first]
    extra = got[len(header):]
    if got[:len(header)] != list(header) or len(set(extra)) != len(extra) \
            or any(name not in optional for name in extra):
        expected = ",".join(header) + "".join(f"[,{name}]" for name in optional)
        for sep, name in (("\t", "tabs"), (";", "semicolons")):
            if len(first) == 1 and [h.strip().lower() for h in first[0].split(sep)][:len(header)] == list(header):
                # Excel's "Text (Tab delimited)" or a European CSV: the right columns, the wrong separator
                raise ImportRejected([RowError(1, msg("file.header_separator", separator=name, expected=expected))])
        if any(not cell.isascii() for cell in first):  # a Korean header: say its Korean form too
            korean = ",".join(map(_korean_name, header)) + "".join(f"[,{_korean_name(n)}]" for n in optional)
            raise ImportRejected([RowError(1, msg("file.header_korean", expected=expected, korean=korean,
                                                  got=",".join(first)))])
        raise ImportRejected([RowError(1, msg("file.header", expected=expected, got=",".join(first)))])
    return tuple(got)


@dataclass
class CsvStream:
    """An operator CSV read record by record: its columns, and ``records`` yielding
    ``(line, cells)`` for each non-blank record (cells as read, not stripped) or a
    :class:`RowError` for a CSV syntax error, on the line where the broken record starts."""

    columns: tuple[str, ...]
    read: Callable[[list[RowError] | None], Iterator[tuple[int, list[str]] | RowError]]

    @property
    def records(self) -> Iterator[tuple[int, list[str]] | RowError]:
        return self.read(None)

    def rows(self, syntax: list[RowError]) -> Iterator[tuple[int, list[str]]]:
        """``(line, cells)`` of each readable record; each syntax error appended to `syntax`
        (one generator: a million-row import pays for one resumption a record, not two)."""
        return self.read(syntax)  # type: ignore[return-value]


READ_CHUNK = 1 << 20


def _stream_codec(path: Path, encoding: str) -> str | None:
    """The codec to read the file with as a text stream, when all of it decodes as
    :func:`decode_operator_bytes` would accept (checked a chunk at a time: memory does not grow
    with the file); None when it does not (decode_operator_bytes then says why)."""
    codec = codec_of(encoding)
    with path.open("rb") as fh:
        head = fh.read(len(WORKBOOK_MAGIC[1]))
        if head.startswith(UTF16_BOMS) or head.startswith(WORKBOOK_MAGIC):
            return None
        if head.startswith(UTF8_BOM):
            codec = "utf-8-sig"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder(codec)()
        as_utf8 = codecs.getincrementaldecoder("utf-8")() if codec == "cp949" else None
        ascii_only = True
        try:
            for chunk in iter(lambda: fh.read(READ_CHUNK), b""):
                decoder.decode(chunk)
                ascii_only = ascii_only and chunk.isascii()
                if as_utf8 is not None:
                    try:
                        as_utf8.decode(chunk)
                    except UnicodeDecodeError:
                        as_utf8 = None
            decoder.decode(b"", final=True)
            if as_utf8 is not None:
                as_utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    if codec == "cp949" and not ascii_only and as_utf8 is not None:
        return None  # UTF-8 read as CP949: refused
    return codec


def open_csv(path: Path, header: Sequence[str], encoding: str = "utf-8",
             optional: Sequence[str] = ()) -> CsvStream:
    """The records of an operator CSV, one at a time. Raises ImportRejected for problems of the
    file as a whole (unreadable, encoding, header) before the first record. The header is
    `header`, then any of the `optional` columns. The file is read as a stream (its encoding
    checked first, chunk by chunk): neither its text nor its rows are held."""
    source: io.TextIOBase
    try:
        codec = _stream_codec(path, encoding)
        if codec is None:  # explains the problem; should it not raise, the text is read from memory
            source = io.StringIO(decode_operator_bytes(path.read_bytes(), encoding), newline="")
        else:
            source = path.open(encoding=codec, newline="")
    except OSError as exc:
        raise ImportRejected([RowError(0, msg("file.cannot_read", path=path, error=exc.strerror or exc))]) from None
    reader = csv.reader(source, strict=True)
    try:
        try:
            first = next(reader, None)
        except csv.Error as exc:
            raise ImportRejected([RowError(1, _syntax_message(exc))]) from None
        if first is None:
            raise ImportRejected([RowError(1, msg("file.empty"))])
        columns = check_header(first, header, optional)
    except BaseException:
        source.close()
        raise

    def records(syntax: list[RowError] | None) -> Iterator[tuple[int, list[str]] | RowError]:
        """Each record; a syntax error is yielded, or appended to `syntax` when given."""
        read = reader.__next__
        with source:
            while True:
                start = reader.line_num + 1
                try:
                    raw = read()
                except StopIteration:
                    return
                except csv.Error as exc:
                    error = RowError(start, _syntax_message(exc))
                    if syntax is None:
                        yield error
                    else:
                        syntax.append(error)
                    continue
                if reader.line_num > start and any("\n" in v or "\r" in v for v in raw):
                    error = RowError(start, msg("csv.spans_lines", last=reader.line_num))
                    if syntax is None:
                        yield error
                    else:
                        syntax.append(error)
                    continue
                # blank: checked on the first cell first (a reading's resource), joined only if empty
                if not raw or (not raw[0].strip() and not "".join(raw).strip()):
                    continue
                yield start, raw

    return CsvStream(columns, records)



def cells_of_lines(path: Path, header: Sequence[str], lines: set[int], encoding: str = "utf-8",
                   optional: Sequence[str] = ()) -> dict[int, list[str]]:
    """The cells as read of some records of the file, by line: a second pass, for the rejects
    file or a message, when the first kept only what it needed."""
    out: dict[int, list[str]] = {}
    for line, raw in open_csv(path, header, encoding, optional).rows([]):
        if line in lines:
            out[line] = raw
    return out

def read_csv_file(path: Path, header: Sequence[str], encoding: str = "utf-8",
                  optional: Sequence[str] = ()) -> CsvFile:
    """Rows of an operator CSV as dicts with the line each starts on, and its CSV syntax
    errors, each on the line where the broken record starts (:func:`open_csv`, all at once).
    A row's dict has the columns the file has; a row with the wrong number of fields has
    values = {} (the caller reports it)."""
    stream = open_csv(path, header, encoding, optional)
    columns = stream.columns
    rows: list[CsvRow] = []
    syntax: list[RowError] = []
    for start, raw in stream.rows(syntax):
        if len(raw) != len(columns):
            rows.append(CsvRow(start, {}, raw, columns))
            continue
        rows.append(CsvRow(start, {h: v.strip() for h, v in zip(columns, raw)}, raw))
    return CsvFile(rows, syntax, columns)


def read_operator_csv(path: Path, header: Sequence[str], encoding: str = "utf-8") -> list[CsvRow]:
    """As read_csv_file, for imports that take all or nothing: a syntax error rejects the file."""
    parsed = read_csv_file(path, header, encoding)
    if parsed.syntax_errors:
        raise ImportRejected(parsed.syntax_errors)
    return parsed.rows


def field_count_error(row: CsvRow, header: Sequence[str]) -> str:
    header = row.expected or header
    return msg("row.field_count", count=len(header), header=",".join(header), got=len(row.raw))


# --- values ----------------------------------------------------------------------------------

def non_ascii_digits(value: str) -> str:
    """The digits in `value` that are not 0-9 (full-width, Arabic-Indic, ...), as shown to an
    operator: '１' (U+FF11 FULLWIDTH DIGIT ONE)."""
    if value.isascii():
        return ""
    seen: list[str] = []
    for ch in value:
        if unicodedata.category(ch) == "Nd" and not "0" <= ch <= "9" and ch not in seen:
            seen.append(ch)
    return ", ".join(f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, '?')})" for ch in seen)


def ascii_digits_problem(field_name: str, value: str) -> str | None:
    bad = non_ascii_digits(value)
    return msg("row.non_ascii_digit", field=field_name, chars=bad) if bad else None


def parse_quantity(value: str, what: str = "amount") -> tuple[Decimal | None, str | None]:
    """A non-negative decimal in ASCII digits, thousands grouped with commas or not, at most 11
    integer digits and 3 decimals (what AMOUNT stores), else (None, reason)."""
    if value == "":
        return None, msg("quantity.empty", what=what)
    bad = ascii_digits_problem(what, value)
    if bad:
        return None, bad
    if value.startswith("-"):
        return None, msg("quantity.negative", what=what, value=value)
    if _SEPARATED_RE.match(value):
        # "1,234": Korean spreadsheets group thousands with commas (a decimal comma is not used
        # here), so a regular grouping is the number; an irregular one ("12,34") is refused below
        value = value.replace(",", "")
    if not _NUMBER_RE.match(value):
        return None, msg("quantity.not_number", what=what, value=value, decimals=MAX_DECIMALS)
    integer, _, decimals = value.partition(".")
    if len(integer.lstrip("0")) > MAX_INTEGER_DIGITS:
        return None, msg("quantity.too_large", what=what, value=value, max=f"{MAX_QUANTITY:,}")
    if len(decimals) > MAX_DECIMALS:
        return None, msg("quantity.decimals", what=what, value=value, decimals=MAX_DECIMALS)
    return Decimal(value), None


def _expected_digits(pattern: str) -> str | None:
    m = _DIGITS_RANGE_RE.match(pattern)
    if not m:
        return None
    low, high = m.group(1), m.group(2)
    if high is None:
        return msg("customer_number.expected_exact", n=low)
    return msg("customer_number.expected_range", low=low, high=high)


@lru_cache(maxsize=64)
def _ascii_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


def check_customer_number(resource: str, value: str, rules: Rules
                          ) -> tuple[str | None, str | None]:
    """(the number, None) or (None, reason). Spaces and hyphens are removed; a number in ASCII
    digits must match the rules' format of `resource` (checked with ASCII-only classes); a
    number that would match with its leading zero(s) back is explained as Excel's doing. A key
    with letters is the data provider's unit key of managed-fee billing (letters and digits,
    at most MAX_KEY_LEN). Never echoes the value in full."""
    number = digits_only(value)
    if not number:
        return None, msg("customer_number.empty")
    if contains_rrn(value):
        return None, msg("customer_number.rrn")
    bad = ascii_digits_problem("customer_number", number)
    if bad:
        return None, bad
    if _SCIENTIFIC_RE.match(number):
        return None, msg("customer_number.scientific", resource=resource, value=value)
    if len(number) > MAX_KEY_LEN or not _KEY_RE.match(number):
        return None, msg("customer_number.key", masked=mask_number(number), max=MAX_KEY_LEN)
    pattern = rules.customer_number_formats.get(resource)
    if pattern is None or not number.isdigit():
        return number, None  # unknown resource (reported by the caller) or a unit key
    fmt = _ascii_pattern(pattern)
    if fmt.fullmatch(number):
        return number, None
    for zeros in range(1, 4):
        if fmt.fullmatch("0" * zeros + number):
            return None, msg("customer_number.leading_zero", resource=resource, digits=len(number),
                             zeros="0" * zeros, masked=mask_number(number),
                             zero_word=msg("customer_number.zero_one" if zeros == 1 else "customer_number.zero_many"))
    expected = _expected_digits(pattern)
    if expected:
        return None, msg("customer_number.format", resource=resource, masked=mask_number(number),
                         digits=len(number), expected=expected)
    return None, msg("customer_number.format_any", resource=resource, masked=mask_number(number),
                     pattern=pattern)


def code_of(table: str, value: str) -> str | None:
    """The code whose words in core/data/imports.toml [table] include the cell (compared
    without spaces, case-insensitive), or None."""
    return _codes(table).get(word_key(value))


@cache
def _codes(table: str) -> dict[str, str]:
    """word -> code of a table, built once (the data files are read-only at run time)."""
    return {word_key(w): code for code, words in texts.data("imports").get(table, {}).items()
            for w in words}


def resource_of(value: str, rules: Rules) -> str | None:
    """The rules' resource code a resource cell names: the code (any case) or a Korean name of
    core/data/imports.toml."""
    code = value.strip().lower()
    if code in rules.resources:
        return code
    resource = code_of("resource_aliases", value)
    return resource if resource in rules.resources else None


# 2020.03.01, 2020/3/1, 2020-3-1, 2020\ub144 3\uc6d4 1\uc77c (year, month, day in Korean), optionally
# with Excel's time of midnight; or 20200301
_WRITTEN_DAY = re.compile(r"^(\d{4})(?:\s*[-./]\s*|\s*\ub144\s*)(\d{1,2})(?:\s*[-./]\s*|\s*\uc6d4\s*)(\d{1,2})"
                           r"\s*\uc77c?\.?(?:\s+0{1,2}:00(?::00)?)?$|^(\d{4})(\d{2})(\d{2})$")


def written_day(value: str) -> date | None:
    """A day as registries, partners and spreadsheets write it: 2020-03-01, 2020.03.01,
    2020/3/1, 20200301, 2020\ub144 3\uc6d4 1\uc77c, with Excel's time of midnight after it
    ('2020-03-01 0:00:00'); None for anything else. Day-first or month-first forms
    (01/03/2020) are ambiguous and never read."""
    m = _WRITTEN_DAY.match((value or "").strip())
    if not m:
        return None
    year, month, day_of_month = (int(g) for g in m.groups() if g is not None)
    try:
        return date(year, month, day_of_month)
    except ValueError:
        return None


TARIFFS = ("general", "agricultural", "late_night")


def parse_tariff(resource: str, value: str, rules: Rules) -> tuple[str | None, str | None]:
    """(tariff code or None when the cell is empty, None) or (None, reason). Codes: general,
    agricultural, late_night, or a Korean name of core/data/imports.toml [tariff_aliases];
    a tariff other than general names an electricity tariff (spec E5)."""
    if not value:
        return None, None
    code = value.strip().lower()
    if code not in TARIFFS:
        code = code_of("tariff_aliases", value) or ""
    if code not in TARIFFS:
        return None, msg("tariff.unknown", value=value, expected="|".join(TARIFFS))
    if code != "general" and resource in rules.resources and resource != "electricity":
        return None, msg("tariff.not_electricity", tariff=code, resource=resource)
    return code, None


# --- duplicates ------------------------------------------------------------------------------

@dataclass
class Duplicates:
    exact: dict[int, int]        # line of a repeated identical row -> line of its first copy
    conflicts: dict[int, str]    # line -> reason, for every row of a key with differing values


def find_duplicates(keyed: Sequence[tuple[Any, Hashable, CsvRow]],
                    describe: Callable[[Any], str],
                    show: Callable[[Hashable], str] = str) -> Duplicates:
    """Rows sharing a key: identical values are one row (later copies listed in `exact`); any
    difference refuses every row of the key, naming each line and its value."""
    groups: dict[Hashable, list[tuple[Hashable, CsvRow]]] = {}
    for key, value, row in keyed:
        groups.setdefault(key, []).append((value, row))
    result = Duplicates({}, {})
    for key, items in groups.items():
        if len(items) < 2:
            continue
        if len({value for value, _ in items}) == 1:
            first = items[0][1].line
            for _, row in items[1:]:
                result.exact[row.line] = first
            continue
        listing = ", ".join(f"{show(value)} on line {row.line}" for value, row in items)
        reason = msg("row.conflicting_duplicate", key=describe(key), listing=listing)
        for _, row in items:
            result.conflicts[row.line] = reason
    return result


def exact_duplicate_notice(line: int, first: int) -> RowError:
    return RowError(line, msg("row.exact_duplicate", first=first))
