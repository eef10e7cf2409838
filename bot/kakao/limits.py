"""Kakao SkillResponse v2.0 limits (docs/kakao-skill-protocol.md §4).

Shared by the builders (response.py) and the independent validator (validate.py).
Read them as attributes (``limits.X``), not ``from ... import X``, so a setting can override one
at run time (e.g. QUICK_REPLY_LABEL_MAX, RESPONSE_MAX_BYTES are unconfirmed, §9).
"""

from __future__ import annotations

import json
import re

import orjson


class LimitError(ValueError):
    """A component breaks a documented Kakao rule; the message names the field and the limit."""


VERSION = "2.0"

# Envelope (§4.1)
OUTPUTS_MIN = 1
OUTPUTS_MAX = 3
QUICK_REPLIES_MAX = 10
RESPONSE_MAX_BYTES = 30720  # [3P], §9: bigger replies "may not be delivered"

# Text components
SIMPLE_TEXT_MAX = 1000
ALT_TEXT_MAX = 50
TEXT_CARD_TITLE_MAX = 50
TEXT_CARD_DESCRIPTION_MAX = 400
TEXT_CARD_DESCRIPTION_CAROUSEL_MAX = 128
BASIC_CARD_TITLE_MAX = 50
BASIC_CARD_DESCRIPTION_MAX = 230
COMMERCE_CARD_TITLE_MAX = 30
COMMERCE_CARD_DESCRIPTION_MAX = 40
COMMERCE_CARD_THUMBNAILS = 1
COMMERCE_CURRENCIES = frozenset({"won"})
DISCOUNT_RATE_MAX = 100

# listCard
LIST_CARD_ITEMS_MAX = 5
LIST_CARD_ITEMS_CAROUSEL_MAX = 4
LIST_ITEM_ACTIONS = frozenset({"block", "message"})

# itemCard
ITEM_CARD_ITEMS_MAX = 10
ITEM_CARD_ITEMS_CAROUSEL_MAX = 5
ITEM_TITLE_MAX = 6
ITEM_DESCRIPTION_LINES_MAX = 2
ITEM_PROFILE_TITLE_MAX = 15
ITEM_SUMMARY_TITLE_MAX = 6
ITEM_SUMMARY_DESCRIPTION_MAX = 14
ITEM_SUMMARY_DECIMALS_MAX = 2
# "currency symbol, digits, comma, point": one symbol before or after the amount.
ITEM_SUMMARY_CURRENCY_SYMBOLS = "원₩￦$€¥£"
ITEM_CARD_TEXT_MAX = 200  # title + description
ITEM_CARD_TEXT_CAROUSEL_MAX = 100
ITEM_CARD_TEXT_LINES_MAX = 12
IMAGE_TITLE_TITLE_LINES_MAX = 2
IMAGE_TITLE_DESCRIPTION_LINES_MAX = 1
ITEM_LIST_ALIGNMENTS = frozenset({"left", "right"})
ITEM_THUMBNAIL_RATIOS = frozenset({(2, 1), (1, 1)})  # width:height
ITEM_THUMBNAIL_CAROUSEL_RATIOS = frozenset({(2, 1)})

# carousel
CAROUSEL_TYPES = frozenset({"basicCard", "commerceCard", "listCard", "itemCard", "textCard"})
CAROUSEL_ITEMS_MAX = 10
CAROUSEL_LIST_CARD_ITEMS_MAX = 5
CAROUSEL_TYPES_WITHOUT_HEADER = frozenset({"textCard", "listCard"})
CAROUSEL_HEADER_TITLE_LINES_MAX = 2
CAROUSEL_HEADER_DESCRIPTION_LINES_MAX = 3

# Buttons (§4.3) and quick replies (§4.4)
BUTTON_LABEL_MAX = 14
BUTTON_LABEL_SIDE_BY_SIDE_MAX = 8  # two buttons in a horizontal layout
BUTTONS_VERTICAL_MAX = 3
BUTTONS_HORIZONTAL_MAX = 2
BUTTON_LAYOUTS = frozenset({"vertical", "horizontal"})
BUTTON_ACTIONS = frozenset({"webLink", "message", "block", "phone", "share", "operator"})
QUICK_REPLY_LABEL_MAX = 14  # not stated by Kakao; project setting (§9)
QUICK_REPLY_ACTIONS = frozenset({"message", "block"})

# URLs Kakao opens or fetches must be absolute http(s).
URL_PATTERN = re.compile(r"^https?://[^\s]+$")

_SUMMARY_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,%d})?"


def item_summary_pattern() -> re.Pattern[str]:
    """itemListSummary.description: one optional currency symbol before or after the amount."""
    sym = "[" + re.escape(ITEM_SUMMARY_CURRENCY_SYMBOLS) + "]"
    amount = _SUMMARY_AMOUNT % ITEM_SUMMARY_DECIMALS_MAX
    return re.compile(rf"^(?:{sym}?{amount}|{amount}{sym})$")


def text_length(text: str) -> int:
    """Length as Kakao's servers likely count it: UTF-16 code units.

    Equal to len() for Korean and ASCII; an emoji outside the BMP counts 2. Counting the larger way
    keeps a reply under the limit whichever way Kakao counts.
    """
    # surrogatepass: a lone surrogate must be measurable (and then refused), not crash the count
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def is_encodable(text: str) -> bool:
    """False for lone surrogates, which cannot be sent as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def line_count(text: str) -> int:
    """Explicit lines only; wrapping depends on the client and cannot be known here."""
    return text.count("\n") + 1


def response_bytes(obj: object) -> int:
    """Size of a reply as compact UTF-8 JSON, the way the skill endpoint should send it."""
    try:
        return len(orjson.dumps(obj))  # the same compact UTF-8, in a tenth of the time
    except TypeError:  # what orjson does not take (e.g. an int past 64 bits): the standard library's
        return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
