"""Building blocks of v2.0 components: links, images, profiles, buttons, quick replies, context.

Every class checks its documented limits when constructed (LimitError) and renders the exact Kakao
JSON with to_dict() (camelCase keys, None fields omitted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.kakao import _checks as C
from bot.kakao import limits as L
from bot.kakao.limits import LimitError


def as_tuple(obj: object, name: str, value: object) -> None:
    """Store a sequence field as a tuple so frozen components stay immutable."""
    if value is None:
        value = ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise LimitError(f"{name}: must be a list")
    object.__setattr__(obj, name, tuple(value))


@dataclass(frozen=True)
class Link:
    """Where a thumbnail or list item leads; `web` wins over `pc`/`mobile` on Kakao's side."""

    web: str | None = None
    pc: str | None = None
    mobile: str | None = None

    def __post_init__(self) -> None:
        if self.web is None and self.pc is None and self.mobile is None:
            raise LimitError("link: needs at least one of web, pc, mobile")
        for name in ("web", "pc", "mobile"):
            C.url(f"link.{name}", getattr(self, name), required=False)

    def to_dict(self) -> dict[str, Any]:
        return C.compact({"web": self.web, "pc": self.pc, "mobile": self.mobile})


@dataclass(frozen=True)
class Thumbnail:
    """fixed_ratio True = 1:1 (horizontal buttons by default), False/None = 2:1 centre crop."""

    image_url: str
    alt_text: str | None = None
    link: Link | None = None
    fixed_ratio: bool | None = None

    def __post_init__(self) -> None:
        C.url("thumbnail.imageUrl", self.image_url)
        C.text("thumbnail.altText", self.alt_text, "ALT_TEXT_MAX", required=False)
        C.instances("thumbnail.link", [self.link] if self.link else [], Link)
        C.boolean("thumbnail.fixedRatio", self.fixed_ratio)

    def to_dict(self) -> dict[str, Any]:
        return C.compact({
            "imageUrl": self.image_url,
            "altText": self.alt_text,
            "link": self.link.to_dict() if self.link else None,
            "fixedRatio": self.fixed_ratio,
        })


@dataclass(frozen=True)
class Profile:
    """basicCard / commerceCard profile (nickname required)."""

    nickname: str
    image_url: str | None = None

    def __post_init__(self) -> None:
        C.text("profile.nickname", self.nickname)
        C.url("profile.imageUrl", self.image_url, required=False)

    def to_dict(self) -> dict[str, Any]:
        return C.compact({"nickname": self.nickname, "imageUrl": self.image_url})


def _ratio(width: int | None, height: int | None) -> tuple[int, int] | None:
    if width is None or height is None:
        return None
    g = math.gcd(width, height)
    return (width // g, height // g)


@dataclass(frozen=True)
class ItemThumbnail:
    """itemCard thumbnail: 2:1 (800x400) or 1:1 (800x800); carousels take 2:1 only."""

    image_url: str
    width: int | None = None
    height: int | None = None
    link: Link | None = None

    def __post_init__(self) -> None:
        C.url("itemCard.thumbnail.imageUrl", self.image_url)
        C.integer("itemCard.thumbnail.width", self.width, required=False, low=1)
        C.integer("itemCard.thumbnail.height", self.height, required=False, low=1)
        if (self.width is None) != (self.height is None):
            raise LimitError("itemCard.thumbnail: give both width and height or neither")
        self.check_ratio("itemCard.thumbnail", "ITEM_THUMBNAIL_RATIOS")
        C.instances("itemCard.thumbnail.link", [self.link] if self.link else [], Link)

    @property
    def ratio(self) -> tuple[int, int] | None:
        return _ratio(self.width, self.height)

    def check_ratio(self, where: str, allowed_name: str) -> None:
        allowed = C.ratios(allowed_name)
        if self.ratio is not None and self.ratio not in allowed:
            shown = ", ".join(f"{w}:{h}" for w, h in sorted(allowed))
            raise LimitError(f"{where}: ratio {self.ratio[0]}:{self.ratio[1]} not allowed ({shown}; {allowed_name})")

    def to_dict(self) -> dict[str, Any]:
        return C.compact({
            "imageUrl": self.image_url,
            "width": self.width,
            "height": self.height,
            "link": self.link.to_dict() if self.link else None,
        })


@dataclass(frozen=True)
class ItemProfile:
    """itemCard profile (title required, <= 15); a card has a head or a profile, never both."""

    title: str
    image_url: str | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        C.text("itemCard.profile.title", self.title, "ITEM_PROFILE_TITLE_MAX")
        C.url("itemCard.profile.imageUrl", self.image_url, required=False)
        C.integer("itemCard.profile.width", self.width, required=False, low=1)
        C.integer("itemCard.profile.height", self.height, required=False, low=1)

    def to_dict(self) -> dict[str, Any]:
        return C.compact({"title": self.title, "imageUrl": self.image_url, "width": self.width, "height": self.height})


@dataclass(frozen=True)
class ImageTitle:
    """itemCard image title: title <= 2 lines, description 1 line."""

    title: str
    description: str | None = None
    image_url: str | None = None

    def __post_init__(self) -> None:
        C.text("itemCard.imageTitle.title", self.title)
        C.lines("itemCard.imageTitle.title", self.title, "IMAGE_TITLE_TITLE_LINES_MAX")
        C.text("itemCard.imageTitle.description", self.description, required=False)
        C.lines("itemCard.imageTitle.description", self.description, "IMAGE_TITLE_DESCRIPTION_LINES_MAX")
        C.url("itemCard.imageTitle.imageUrl", self.image_url, required=False)

    def to_dict(self) -> dict[str, Any]:
        return C.compact({"title": self.title, "description": self.description, "imageUrl": self.image_url})


@dataclass(frozen=True)
class Item:
    """One itemCard row: title <= 6 characters, description required (<= 2 lines)."""

    title: str
    description: str

    def __post_init__(self) -> None:
        C.text("itemCard.itemList.title", self.title, "ITEM_TITLE_MAX")
        C.text("itemCard.itemList.description", self.description)
        C.lines("itemCard.itemList.description", self.description, "ITEM_DESCRIPTION_LINES_MAX")

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description}


@dataclass(frozen=True)
class ItemListSummary:
    """Total row: title <= 6, description <= 14 made of a currency symbol, digits, comma, point."""

    title: str
    description: str

    def __post_init__(self) -> None:
        C.text("itemCard.itemListSummary.title", self.title, "ITEM_SUMMARY_TITLE_MAX")
        C.text("itemCard.itemListSummary.description", self.description, "ITEM_SUMMARY_DESCRIPTION_MAX")
        if not L.item_summary_pattern().match(self.description):
            raise LimitError(
                "itemCard.itemListSummary.description: only a currency symbol, digits, comma and point "
                f"(<= {L.ITEM_SUMMARY_DECIMALS_MAX} decimals), e.g. '10,000{L.ITEM_SUMMARY_CURRENCY_SYMBOLS[0]}'"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description}


def _action_fields(where: str, action: str, *, block_id: str | None, message_text: str | None,
                   extra: Mapping[str, Any] | None) -> None:
    """Rules shared by list items and quick replies (actions `block` / `message`)."""
    if action == "block":
        C.text(f"{where}.blockId", block_id)
    elif block_id is not None:
        raise LimitError(f"{where}.blockId: only for action 'block'")
    C.nonblank(f"{where}.messageText", message_text)
    C.json_map(f"{where}.extra", extra)


@dataclass(frozen=True)
class ListItem:
    """listCard row. action 'message' sends message_text (defaults to the title)."""

    title: str
    description: str | None = None
    image_url: str | None = None
    link: Link | None = None
    action: str | None = None
    block_id: str | None = None
    message_text: str | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        C.text("listCard.items.title", self.title)
        C.text("listCard.items.description", self.description, required=False)
        C.url("listCard.items.imageUrl", self.image_url, required=False)
        C.instances("listCard.items.link", [self.link] if self.link else [], Link)
        if self.action is None:
            if self.block_id is not None or self.message_text is not None or self.extra is not None:
                raise LimitError("listCard.items: blockId/messageText/extra need an action")
            return
        C.one_of("listCard.items.action", self.action, L.LIST_ITEM_ACTIONS)
        _action_fields("listCard.items", self.action, block_id=self.block_id,
                       message_text=self.message_text, extra=self.extra)

    def to_dict(self) -> dict[str, Any]:
        message_text = self.message_text
        if self.action == "message" and message_text is None:
            message_text = self.title
        return C.compact({
            "title": self.title,
            "description": self.description,
            "imageUrl": self.image_url,
            "link": self.link.to_dict() if self.link else None,
            "action": self.action,
            "blockId": self.block_id,
            "messageText": message_text,
            "extra": dict(self.extra) if self.extra is not None else None,
        })


# Fields each button action takes (§4.3); anything else is refused so typos surface early.
_BUTTON_FIELDS = {
    "webLink": {"web_link_url"},
    "message": {"message_text", "extra"},
    "block": {"block_id", "message_text", "extra"},
    "phone": {"phone_number"},
    "share": set(),
    "operator": set(),
}
_BUTTON_REQUIRED = {"webLink": "web_link_url", "block": "block_id", "phone": "phone_number"}
_CAMEL = {"web_link_url": "webLinkUrl", "message_text": "messageText", "phone_number": "phoneNumber",
          "block_id": "blockId", "extra": "extra"}


@dataclass(frozen=True)
class Button:
    """Card button. Prefer the constructors: Button.block(...), Button.web_link(...), ..."""

    label: str
    action: str
    web_link_url: str | None = None
    message_text: str | None = None
    phone_number: str | None = None
    block_id: str | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        C.text("button.label", self.label, "BUTTON_LABEL_MAX")
        C.one_of("button.action", self.action, L.BUTTON_ACTIONS)
        allowed = _BUTTON_FIELDS[self.action]
        for name, camel in _CAMEL.items():
            if getattr(self, name) is not None and name not in allowed:
                raise LimitError(f"button.{camel}: not used by action {self.action!r}")
        required = _BUTTON_REQUIRED.get(self.action)
        if required:
            C.text(f"button.{_CAMEL[required]}", getattr(self, required))
        C.url("button.webLinkUrl", self.web_link_url, required=False)
        C.nonblank("button.messageText", self.message_text)
        C.json_map("button.extra", self.extra)

    @classmethod
    def web_link(cls, label: str, url: str) -> Button:
        return cls(label, "webLink", web_link_url=url)

    @classmethod
    def message(cls, label: str, text: str | None = None, extra: Mapping[str, Any] | None = None) -> Button:
        return cls(label, "message", message_text=text, extra=extra)

    @classmethod
    def block(cls, label: str, block_id: str, message_text: str | None = None,
              extra: Mapping[str, Any] | None = None) -> Button:
        return cls(label, "block", block_id=block_id, message_text=message_text, extra=extra)

    @classmethod
    def phone(cls, label: str, number: str) -> Button:
        return cls(label, "phone", phone_number=number)

    @classmethod
    def share(cls, label: str) -> Button:
        return cls(label, "share")

    @classmethod
    def operator(cls, label: str) -> Button:
        return cls(label, "operator")

    def to_dict(self) -> dict[str, Any]:
        message_text = self.message_text
        if self.action == "message" and message_text is None:
            message_text = self.label  # Kakao needs the text to send; the label is what the user tapped
        return C.compact({
            "label": self.label,
            "action": self.action,
            "webLinkUrl": self.web_link_url,
            "messageText": message_text,
            "phoneNumber": self.phone_number,
            "blockId": self.block_id,
            "extra": dict(self.extra) if self.extra is not None else None,
        })


def check_buttons(where: str, buttons: Sequence[Button], layout: str | None, fixed_ratio: bool | None) -> None:
    """Count and label rules that depend on the layout; `buttonLayout` wins over `fixedRatio`."""
    C.instances(f"{where}.buttons", buttons, Button)
    C.one_of(f"{where}.buttonLayout", layout, L.BUTTON_LAYOUTS, required=False)
    effective = layout or ("horizontal" if fixed_ratio else "vertical")
    limit_name = "BUTTONS_HORIZONTAL_MAX" if effective == "horizontal" else "BUTTONS_VERTICAL_MAX"
    C.count(f"{where}.buttons ({effective})", buttons, limit_name)
    if effective == "horizontal" and len(buttons) == 2:
        for i, button in enumerate(buttons):
            C.text(f"{where}.buttons[{i}].label (side by side)", button.label, "BUTTON_LABEL_SIDE_BY_SIDE_MAX")


@dataclass(frozen=True)
class QuickReply:
    """Quick reply. 'message' sends message_text (defaults to the label); 'block' needs block_id.

    `extra` comes back as action.clientExtra on the next request.
    """

    label: str
    action: str = "message"
    message_text: str | None = None
    block_id: str | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        C.text("quickReplies.label", self.label, "QUICK_REPLY_LABEL_MAX")
        C.one_of("quickReplies.action", self.action, L.QUICK_REPLY_ACTIONS)
        _action_fields("quickReplies", self.action, block_id=self.block_id,
                       message_text=self.message_text, extra=self.extra)

    @classmethod
    def message(cls, label: str, text: str | None = None, extra: Mapping[str, Any] | None = None) -> QuickReply:
        return cls(label, "message", message_text=text, extra=extra)

    @classmethod
    def block(cls, label: str, block_id: str, message_text: str | None = None,
              extra: Mapping[str, Any] | None = None) -> QuickReply:
        return cls(label, "block", message_text=message_text, block_id=block_id, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        message_text = self.message_text
        if self.action == "message" and message_text is None:
            message_text = self.label
        return C.compact({
            "label": self.label,
            "action": self.action,
            "messageText": message_text,
            "blockId": self.block_id,
            "extra": dict(self.extra) if self.extra is not None else None,
        })


@dataclass(frozen=True)
class CarouselHeader:
    """Carousel cover: title <= 2 lines, description <= 3 lines; not for textCard/listCard."""

    title: str
    description: str | None = None
    thumbnail: Thumbnail | None = None

    def __post_init__(self) -> None:
        C.text("carousel.header.title", self.title)
        C.lines("carousel.header.title", self.title, "CAROUSEL_HEADER_TITLE_LINES_MAX")
        C.text("carousel.header.description", self.description, required=False)
        C.lines("carousel.header.description", self.description, "CAROUSEL_HEADER_DESCRIPTION_LINES_MAX")
        C.instances("carousel.header.thumbnail", [self.thumbnail] if self.thumbnail else [], Thumbnail)

    def to_dict(self) -> dict[str, Any]:
        return C.compact({
            "title": self.title,
            "description": self.description,
            "thumbnail": self.thumbnail.to_dict() if self.thumbnail else None,
        })


def _stringify(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class ContextValue:
    """context.values[]: life_span in turns (0 deletes); params are stringified (Map<string,string>)."""

    name: str
    life_span: int
    ttl: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        C.text("context.values.name", self.name)
        C.integer("context.values.lifeSpan", self.life_span)
        C.integer("context.values.ttl", self.ttl, required=False)
        if not isinstance(self.params, Mapping) or not all(isinstance(k, str) for k in self.params):
            raise LimitError("context.values.params: must be a dict with string keys")
        object.__setattr__(self, "params", {k: _stringify(v) for k, v in self.params.items()})

    def to_dict(self) -> dict[str, Any]:
        return C.compact({"name": self.name, "lifeSpan": self.life_span, "ttl": self.ttl,
                          "params": dict(self.params) or None})


@dataclass(frozen=True)
class ContextControl:
    values: Sequence[ContextValue] = ()

    def __post_init__(self) -> None:
        as_tuple(self, "values", self.values)
        C.instances("context.values", self.values, ContextValue)

    def to_dict(self) -> dict[str, Any]:
        return {"values": [v.to_dict() for v in self.values]}
