"""Answers to dialog questions as people type them: pure functions, no context, no database.

`normalise` folds what was typed (NFKC for full-width digits and letters, single spaces, no
trailing punctuation; typed jamo such as a yes of two ieung kept); `squash` drops the spaces
for comparing with a word list; `yes_no` reads yes or no in their common forms; `words` gives a
word list of bot/texts/ko/answers.toml. The parsers of values (mobile, account and bank, unit,
address) are core's (core.members, core.local_governments); these read the words around them.
"""
from __future__ import annotations

import re
from datetime import date
from functools import cache

from bot import texts
from core.members import fold, looks_like_rrn  # noqa: F401  (looks_like_rrn re-exported for the machine)
from core.points.periods import Half

_SPACE = re.compile(r"\s+")
_TRAILING_PUNCT = ".!?~ "
_PUNCT = re.compile(r"[,.!?~]")


def normalise(text: str | None) -> str:
    """Folded (NFKC but typed jamo), single spaces, no trailing '.!?~'."""
    return fold(text).rstrip(_TRAILING_PUNCT)


_EMOJI_GLUE = re.compile("[\\s\uFE0F\u200D\u2640\u2642\U0001F3FB-\U0001F3FF]")  # spaces, skin tones, gender


def emoji_as_word(text: str | None) -> str | None:
    """A message of nothing but yes or no emoji ('👍', '👌👌', '🙅‍♀️') as the first yes or no word,
    which every yes/no step reads; any other text as it is. (Emoji are dropped from answers
    otherwise, so a lone '👍' would be empty.)"""
    t = _EMOJI_GLUE.sub("", text or "")
    if not t:
        return text
    for key in ("yes", "no"):
        if not t.translate(_emoji_table(key)):
            return words(key)[0]
    return text


@cache
def _emoji_table(key: str) -> dict[int, None]:
    """str.translate table deleting the emoji at answers `emoji_<key>` (built once)."""
    return {ord(ch): None for mark in words(f"emoji_{key}") for ch in mark}


def squash(text: str | None) -> str:
    """Lower case without spaces, for matching typed choices ('관리비합산' = '관리비 합산')."""
    return _SPACE.sub("", normalise(text)).lower()


@cache
def words(key: str) -> tuple[str, ...]:
    """The word list at `key` of answers.toml ('yes', 'incentive.cash') in every language the
    bot speaks (Korean first: a Korean answer is understood in an English chat too); () when
    absent."""
    found: list[str] = []
    for lang in texts.LANGUAGES:
        try:
            value = texts.raw(f"answers.{key}", lang=lang)
        except (KeyError, TypeError):
            continue
        if isinstance(value, list):
            found.extend(w for w in value if w not in found)
    return tuple(found)


@cache
def _squashed(key: str) -> frozenset[str]:
    return frozenset(squash(w) for w in words(key))


@cache
def squashed_words(key: str) -> tuple[str, ...]:
    """`words(key)` squashed, in order, without empty ones: built once (texts are read-only)."""
    return tuple(w for w in (squash(x) for x in words(key)) if w)


def says_any(typed: str, key: str) -> bool:
    """Does squashed text contain a word at `key`?"""
    return any(w in typed for w in squashed_words(key))


def _strip_trailing(t: str) -> str:
    trailing = "".join(words("trailing"))
    return t.rstrip(trailing) if trailing else t


def in_words(text: str | None, key: str) -> bool:
    """Is the whole answer one of the words at `key` (a polite ending after it allowed)?"""
    t = _strip_trailing(squash(text))
    if not t:
        return False
    listed = _squashed(key)
    return t in listed or any(t.endswith(e) and t[: -len(e)] in listed for e in _squashed("endings"))


def looks_like_question(text: str | None) -> bool:
    """Does the text read as a question (a question mark, a question word or ending)?"""
    if asks(text):
        return True
    t = squash(text)
    return bool(t) and any(w and w in t for w in _squashed("question_endings"))


def substance(text: str | None) -> str:
    """The squashed text without its question words and endings: what a question is about
    ("어떻게 해요" has nearly nothing left, "가입하면 포인트 얼마 받아요" has)."""
    t = squash(text)
    for key in ("question_words", "question_endings", "filler_verbs"):
        for w in squashed_words(key):
            t = t.replace(w, "")
    return t.strip("".join(words("trailing")))


def asks_about_step(text: str | None, subject_key: str = "") -> bool:
    """Does the text ask what a step's subject is: a word of answers.about ("뭐예요", "무슨 뜻")
    with a subject word (answers.toml at `subject_key`) or a word for "this" ("이게 무슨 말이에요")?"""
    t = squash(text)
    if not t or not says_any(t, "about"):
        return False
    return says_any(t, "about_this") or bool(subject_key and says_any(t, subject_key))


def asks_why(text: str | None) -> bool:
    """Does the text ask why something is asked ("왜요", "이름은 왜 필요해요?", "주소 꼭 써야
    해요?")? The words of answers.why."""
    t = squash(text)
    return bool(t) and any(w and w in t for w in _squashed("why"))


def asks_where_about_it(text: str | None) -> bool:
    """A "where" question about what is being asked: a where word (answers.where) with a word
    pointing at it ("이거", "그 번호"; answers.it)."""
    t = squash(text)
    return bool(t) and any(w and w in t for w in _squashed("where")) and any(w and w in t for w in _squashed("it"))


def asks(text: str | None) -> bool:
    """Is the text plainly a question: a question mark or a question word ("어디", "언제")? Not
    an ending alone, which answers share ("관리비에 포함돼요")."""
    if "?" in (text or "") or "\uff1f" in (text or ""):
        return True
    t = squash(text)
    return bool(t) and any(w and w in t for w in _squashed("question_words"))


def yes_no(text: str | None) -> bool | None:
    """True for yes, False for no, None for anything else. The answer is read as a run of
    yes words or of no words ('네', '넵', 'ㅇㅇ', '네 맞아요'; '아니요', 'ㄴㄴ', '아니 안 할래요'),
    longest word first; a word of the other kind or any other word makes it None. Laughter or
    an emoticon after it ('네ㅎㅎ') does not count."""
    t = _PUNCT.sub("", squash(text))
    for candidate in dict.fromkeys((t, _strip_trailing(t))):
        found = _one_polarity(candidate)
        if found is not None:
            return found
    return None


def _one_polarity(t: str) -> bool | None:
    yes, no = _squashed("yes"), _squashed("no")
    seen: set[bool] = set()
    while t:
        best = max((w for w in yes | no if t.startswith(w)), key=len, default=None)
        if best is None:
            return None
        seen.add(best in yes)
        t = t[len(best):]
    return seen.pop() if len(seen) == 1 else None


def first_listed(text: str | None, table: str) -> str | None:
    """The first key of the table `table` of answers.toml with a word the text contains."""
    t = squash(text)
    for lang in texts.LANGUAGES:
        try:
            entries = texts.raw(f"answers.{table}", lang=lang)
        except KeyError:
            continue
        for key, listed in entries.items():
            if any(squash(w) in t for w in listed if squash(w)):
                return key
    return None


def _starts_with(token: str, key: str) -> bool:
    """Is the squashed token a word of `key`, or longer one of its words of two letters or more
    ("근데요", "어디서")?"""
    listed = _squashed(key)
    return token in listed or any(len(w) > 1 and token.startswith(w) for w in listed)


def _ends_clause(token: str, endings: tuple[str, ...]) -> bool:
    """Does the token end like a clause of a question: a Korean ending of `endings` after its
    stem ("받으면", "현금으로"), or an English one as the whole word ("if", "the")?"""
    return any(token == e or (not e.isascii() and token.endswith(e)) for e in endings)


def answer_then_question(text: str | None) -> tuple[str, str] | None:
    """A message read as an answer followed by a question ("홍길동인데 이름은 왜 물어봐요?" ->
    ("홍길동", "이름은 왜 물어봐요?")), or None. The question part asks (:func:`asks`), the
    answer part does not; where the question may start is said in answers.toml (split_*). The
    earliest place wins."""
    tokens = (text or "").split()
    connectors = squashed_words("split_connectors")
    not_after = squashed_words("split_not_after")
    ends = squashed_words("split_answer_endings")
    for i in range(1, len(tokens)):
        head, first = tokens[i - 1], squash(tokens[i])
        bare = head.rstrip(",.!~")
        cut = next((bare[: -len(c)] for c in connectors if bare.endswith(c) and len(bare) > len(c)), None)
        sure = cut is not None or _starts_with(first, "split_new_sentence")
        # a word of the answer that ends like a clause of the question ("가입하면 포인트 이거
        # 돼요?") makes it one question
        loose = (bare != head or bare.endswith(ends) or _starts_with(first, "split_question_starts")) \
            and not any(_ends_clause(squash(t.rstrip(",.!~")), not_after) for t in tokens[:i])
        if not (sure or loose):
            continue
        answer, question = " ".join([*tokens[: i - 1], bare if cut is None else cut]), " ".join(tokens[i:])
        if answer and asks(question) and not asks(answer) and not _starts_with(squash(question), "split_not_question"):
            return answer, question
        if sure:
            return None  # a new sentence that is no question, or a question before it: one message
    return None


def has_subject(text: str | None) -> bool:
    """Is a question about something ("광고 문자 와요?"), not only about "this" ("이거 맞나요?",
    which no FAQ answers)? Its substance without the words for "this" and for a new sentence."""
    t = substance(text)
    for w in (*squashed_words("about_this"), *squashed_words("split_new_sentence")):
        t = t.replace(w, "")
    return len(t) >= 3


def without_openers(text: str) -> str:
    """The question without the words that open it and say nothing ("근데 이거 어디에 저장돼요?"
    -> "어디에 저장돼요?"): split_new_sentence and about_this at its start."""
    tokens = text.split()
    while len(tokens) > 1 and (squash(tokens[0]) in _squashed("split_new_sentence")
                               or squash(tokens[0]) in _squashed("about_this")):
        tokens.pop(0)
    return " ".join(tokens)


_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)|(?<!\d)(\d{2})\s*\ub144")  # 2025, or 25 with \ub144 (year)


def typed_half(text: str | None, today: date) -> Half | None:
    """The half a request names ("2025년 하반기", "작년 상반기", "25년 상반기", "지난 반기", "2025H1"),
    or None. A half without its year is the latest such half up to today's ("상반기" in
    December is this year's, in May last year's)."""
    t = squash(text)
    if not t:
        return None
    current = Half.of_date(today)
    if says_any(t, "half.previous"):
        return current.previous()
    number = 1 if says_any(t, "half.first") else 2 if says_any(t, "half.second") else None
    if number is None:
        return None
    found = _YEAR.search(text or "")
    if found:
        year = int(found.group(1)) if found.group(1) else 2000 + int(found.group(2))
    elif says_any(t, "half.year_before"):
        year = today.year - 2
    elif says_any(t, "half.last_year"):
        year = today.year - 1
    else:  # this year, or said without a year: the latest such half so far
        year = today.year if number <= current.number or says_any(t, "half.this_year") else today.year - 1
    return Half(year, number)


def asks_history(text: str | None) -> bool:
    """Does a points request ask for every settled half ("포인트 내역", "지금까지 받은 포인트")?"""
    return says_any(squash(text), "half.history")


_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")


def personal_data_alone(text: str | None) -> bool:
    """Is the message only personal data, no request: a number of 7+ digits with at most a
    short word (a customer number, a mobile, "신한 110-123-456789"), an e-mail address, or a
    road or lot address with its number?"""
    t = (text or "").strip()
    if not t or asks(t):
        return False
    if " " not in t and "@" in t and "." in t.split("@")[-1]:
        return True
    digits = len(_DIGIT.findall(t))
    if digits == 0:  # every number and address has digits: most messages stop here
        return False
    if digits >= 7 and len(_LETTER.findall(t)) <= 6:
        return True
    from core.local_governments import parse_address

    return len(t) <= 80 and parse_address(t) is not None
