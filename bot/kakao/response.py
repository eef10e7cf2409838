"""SkillResponse v2.0 envelope and the public builder API (§4).

Everything a handler needs is importable from here:

    from bot.kakao.response import SkillResponse, SimpleText, QuickReply, text_reply, fit_text

Builders refuse what Kakao would not deliver (LimitError, a ValueError) at construction time.
Callers that shorten dynamic text instead of failing use fit_text().
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from bot.kakao import _checks as C
from bot.kakao import limits as L
from bot.kakao.cards import (
    COMPONENT_KINDS,
    BasicCard,
    Card,
    Carousel,
    CommerceCard,
    Component,
    ItemCard,
    ListCard,
    SimpleImage,
    SimpleText,
    TextCard,
)
from bot.kakao.limits import LimitError
from bot.kakao.parts import (
    Button,
    CarouselHeader,
    ContextControl,
    ContextValue,
    ImageTitle,
    Item,
    ItemListSummary,
    ItemProfile,
    ItemThumbnail,
    Link,
    ListItem,
    Profile,
    QuickReply,
    Thumbnail,
    as_tuple,
)

__all__ = [
    "BasicCard", "Button", "Card", "Carousel", "CarouselHeader", "CommerceCard", "Component",
    "ContextControl", "ContextValue", "ImageTitle", "Item", "ItemCard", "ItemListSummary", "ItemProfile",
    "ItemThumbnail", "LimitError", "Link", "ListCard", "ListItem", "Profile", "QuickReply", "SimpleImage",
    "SimpleText", "SkillResponse", "TextCard", "Thumbnail", "ELLIPSIS", "fit_text", "reply", "text_reply",
]


class BuiltReply(dict):
    """A reply dict as :class:`SkillResponse` built it, with ``encoded``: its compact UTF-8 JSON
    at that moment (None when orjson could not encode it). Every component checked its limits
    when it was made, and builder output always validates (tests/bot/kakao/
    test_kakao_properties.py), so a reply whose encoding is still exactly ``encoded`` needs no
    second validation; one changed after it was built is validated in full."""

    encoded: bytes | None = None


def _encoded(built: dict) -> bytes | None:
    try:
        return orjson.dumps(built)
    except TypeError:  # what orjson does not take (e.g. an int past 64 bits)
        return None


@dataclass(frozen=True)
class SkillResponse:
    """version "2.0", 1-3 outputs, <= 10 quick replies, <= RESPONSE_MAX_BYTES as compact UTF-8 JSON."""

    outputs: Sequence[Component]
    quick_replies: Sequence[QuickReply] = ()
    context: ContextControl | None = None
    data: Mapping[str, Any] | None = None
    _built: dict[str, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        as_tuple(self, "outputs", self.outputs)
        as_tuple(self, "quick_replies", self.quick_replies)
        C.count("template.outputs", self.outputs, "OUTPUTS_MAX", low=L.OUTPUTS_MIN)
        C.instances("template.outputs", self.outputs, COMPONENT_KINDS)
        C.count("template.quickReplies", self.quick_replies, "QUICK_REPLIES_MAX")
        C.instances("template.quickReplies", self.quick_replies, QuickReply)
        C.instances("context", [self.context] if self.context is not None else [], ContextControl)
        C.json_map("data", self.data)
        built = BuiltReply(self.to_dict())
        object.__setattr__(self, "_built", built)  # `reply` hands this out: built once per reply
        built.encoded = _encoded(built)
        size = len(built.encoded) if built.encoded is not None else L.response_bytes(built)
        most = L.RESPONSE_MAX_BYTES
        if size > most:
            raise LimitError(f"response: {size} bytes as UTF-8 JSON, limit {most} (RESPONSE_MAX_BYTES)")

    def to_dict(self) -> dict[str, Any]:
        template = C.compact({
            "outputs": [o.to_dict() for o in self.outputs],
            "quickReplies": [q.to_dict() for q in self.quick_replies] or None,
        })
        return C.compact({
            "version": L.VERSION,
            "template": template,
            "context": self.context.to_dict() if self.context is not None else None,
            "data": dict(self.data) if self.data is not None else None,
        })


def reply(*outputs: Component, quick_replies: Sequence[QuickReply] | None = None,
          context: ContextControl | None = None, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The response dict for one to three components."""
    return SkillResponse(outputs, quick_replies or (), context, data)._built


def text_reply(text: str, quick_replies: Sequence[QuickReply] | None = None) -> dict[str, Any]:
    """The most common answer: one simpleText plus optional quick replies, as a dict."""
    return reply(SimpleText(text), quick_replies=quick_replies)


ELLIPSIS = "…"


def _extends_previous(ch: str) -> bool:
    """Characters that belong to the character before them (cutting before them splits a glyph)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or cp == 0x200D  # zero-width joiner
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF  # conjoining Hangul vowels/finals
    )


def fit_text(text: str, limit: int) -> str:
    """Shorten text to at most `limit` characters (as limits.text_length counts), ending in "…".

    Cuts on a character boundary, never inside a combined glyph (emoji sequence, decomposed
    Hangul); text that already fits comes back unchanged.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    if L.text_length(text) <= limit:
        return text
    budget, used, end = limit - L.text_length(ELLIPSIS), 0, 0
    while end < len(text) and used + L.text_length(text[end]) <= budget:
        used += L.text_length(text[end])
        end += 1
    while end > 0 and (_extends_previous(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    return text[:end].rstrip() + ELLIPSIS
