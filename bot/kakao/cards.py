"""v2.0 output components (§4.2): simpleText, simpleImage, the cards and carousel.

Cards check their single-bubble limits when constructed; a Carousel re-checks each item against the
stricter carousel limits. to_dict() gives the output entry, e.g. {"basicCard": {...}}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.kakao import _checks as C
from bot.kakao import limits as L
from bot.kakao.limits import LimitError
from bot.kakao.parts import (
    Button,
    CarouselHeader,
    ImageTitle,
    Item,
    ItemListSummary,
    ItemProfile,
    ItemThumbnail,
    ListItem,
    Profile,
    Thumbnail,
    as_tuple,
    check_buttons,
)


class Component:
    """An entry of template.outputs."""

    KIND: ClassVar[str]

    def body(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {self.KIND: self.body()}


class Card(Component):
    """A component that may also sit in a carousel."""

    def check(self, where: str, in_carousel: bool) -> None:
        raise NotImplementedError


def _has_text(value: str | None) -> bool:
    return bool(value and value.strip())


def _buttons_body(card: Any) -> dict[str, Any]:
    return {
        "buttons": [b.to_dict() for b in card.buttons] or None,
        "buttonLayout": card.button_layout,
        "forwardable": card.forwardable,
    }


@dataclass(frozen=True)
class SimpleText(Component):
    KIND: ClassVar[str] = "simpleText"
    text: str

    def __post_init__(self) -> None:
        C.text("simpleText.text", self.text, "SIMPLE_TEXT_MAX")

    def body(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True)
class SimpleImage(Component):
    KIND: ClassVar[str] = "simpleImage"
    image_url: str
    alt_text: str | None = None

    def __post_init__(self) -> None:
        C.url("simpleImage.imageUrl", self.image_url)
        C.text("simpleImage.altText", self.alt_text, "ALT_TEXT_MAX", required=False)

    def body(self) -> dict[str, Any]:
        return C.compact({"imageUrl": self.image_url, "altText": self.alt_text})


@dataclass(frozen=True)
class TextCard(Card):
    KIND: ClassVar[str] = "textCard"
    title: str | None = None
    description: str | None = None
    buttons: Sequence[Button] = ()
    button_layout: str | None = None
    forwardable: bool | None = None

    def __post_init__(self) -> None:
        as_tuple(self, "buttons", self.buttons)
        self.check(self.KIND, False)

    def check(self, where: str, in_carousel: bool) -> None:
        C.text(f"{where}.title", self.title, "TEXT_CARD_TITLE_MAX", required=False)
        desc = "TEXT_CARD_DESCRIPTION_CAROUSEL_MAX" if in_carousel else "TEXT_CARD_DESCRIPTION_MAX"
        C.text(f"{where}.description", self.description, desc, required=False)
        if not (_has_text(self.title) or _has_text(self.description)):
            raise LimitError(f"{where}: needs a title or a description")
        check_buttons(where, self.buttons, self.button_layout, None)
        C.boolean(f"{where}.forwardable", self.forwardable)

    def body(self) -> dict[str, Any]:
        return C.compact({"title": self.title, "description": self.description, **_buttons_body(self)})


@dataclass(frozen=True)
class BasicCard(Card):
    KIND: ClassVar[str] = "basicCard"
    thumbnail: Thumbnail
    title: str | None = None
    description: str | None = None
    profile: Profile | None = None
    buttons: Sequence[Button] = ()
    button_layout: str | None = None
    forwardable: bool | None = None

    def __post_init__(self) -> None:
        as_tuple(self, "buttons", self.buttons)
        self.check(self.KIND, False)

    @property
    def image_ratio(self) -> str:
        return "1:1" if self.thumbnail.fixed_ratio else "2:1"

    def check(self, where: str, in_carousel: bool) -> None:
        C.instances(f"{where}.thumbnail", [self.thumbnail], Thumbnail)
        C.text(f"{where}.title", self.title, "BASIC_CARD_TITLE_MAX", required=False)
        C.text(f"{where}.description", self.description, "BASIC_CARD_DESCRIPTION_MAX", required=False)
        C.instances(f"{where}.profile", [self.profile] if self.profile else [], Profile)
        check_buttons(where, self.buttons, self.button_layout, self.thumbnail.fixed_ratio)
        C.boolean(f"{where}.forwardable", self.forwardable)

    def body(self) -> dict[str, Any]:
        return C.compact({
            "title": self.title,
            "description": self.description,
            "thumbnail": self.thumbnail.to_dict(),
            "profile": self.profile.to_dict() if self.profile else None,
            **_buttons_body(self),
        })


@dataclass(frozen=True)
class CommerceCard(Card):
    """Prices in whole won (int). discountedPrice wins over discount/discountRate on Kakao's side."""

    KIND: ClassVar[str] = "commerceCard"
    price: int
    thumbnails: Sequence[Thumbnail]
    title: str | None = None
    description: str | None = None
    currency: str = "won"
    discount: int | None = None
    discount_rate: int | None = None
    discounted_price: int | None = None
    profile: Profile | None = None
    buttons: Sequence[Button] = ()
    button_layout: str | None = None
    forwardable: bool | None = None

    def __post_init__(self) -> None:
        as_tuple(self, "thumbnails", self.thumbnails)
        as_tuple(self, "buttons", self.buttons)
        self.check(self.KIND, False)

    @property
    def image_ratio(self) -> str:
        return "1:1" if self.thumbnails[0].fixed_ratio else "2:1"

    def check(self, where: str, in_carousel: bool) -> None:
        C.integer(f"{where}.price", self.price)
        exactly = L.COMMERCE_CARD_THUMBNAILS
        if len(self.thumbnails) != exactly:
            raise LimitError(f"{where}.thumbnails: {len(self.thumbnails)} given, exactly {exactly} (COMMERCE_CARD_THUMBNAILS)")
        C.instances(f"{where}.thumbnails", self.thumbnails, Thumbnail)
        C.text(f"{where}.title", self.title, "COMMERCE_CARD_TITLE_MAX", required=False)
        C.text(f"{where}.description", self.description, "COMMERCE_CARD_DESCRIPTION_MAX", required=False)
        C.one_of(f"{where}.currency", self.currency, L.COMMERCE_CURRENCIES)
        C.integer(f"{where}.discount", self.discount, required=False)
        C.integer(f"{where}.discountRate", self.discount_rate, required=False, high=L.DISCOUNT_RATE_MAX)
        C.integer(f"{where}.discountedPrice", self.discounted_price, required=False)
        C.instances(f"{where}.profile", [self.profile] if self.profile else [], Profile)
        check_buttons(where, self.buttons, self.button_layout, self.thumbnails[0].fixed_ratio)
        C.boolean(f"{where}.forwardable", self.forwardable)

    def body(self) -> dict[str, Any]:
        return C.compact({
            "title": self.title,
            "description": self.description,
            "price": self.price,
            "currency": self.currency,
            "discount": self.discount,
            "discountRate": self.discount_rate,
            "discountedPrice": self.discounted_price,
            "thumbnails": [t.to_dict() for t in self.thumbnails],
            "profile": self.profile.to_dict() if self.profile else None,
            **_buttons_body(self),
        })


@dataclass(frozen=True)
class ListCard(Card):
    """header is the header title (Kakao ignores a header description/image)."""

    KIND: ClassVar[str] = "listCard"
    header: str
    items: Sequence[ListItem]
    buttons: Sequence[Button] = ()
    button_layout: str | None = None
    forwardable: bool | None = None

    def __post_init__(self) -> None:
        as_tuple(self, "items", self.items)
        as_tuple(self, "buttons", self.buttons)
        self.check(self.KIND, False)

    def check(self, where: str, in_carousel: bool) -> None:
        C.text(f"{where}.header.title", self.header)
        most = "LIST_CARD_ITEMS_CAROUSEL_MAX" if in_carousel else "LIST_CARD_ITEMS_MAX"
        C.count(f"{where}.items", self.items, most, low=1)
        C.instances(f"{where}.items", self.items, ListItem)
        check_buttons(where, self.buttons, self.button_layout, None)
        C.boolean(f"{where}.forwardable", self.forwardable)

    def body(self) -> dict[str, Any]:
        return C.compact({
            "header": {"title": self.header},
            "items": [i.to_dict() for i in self.items],
            **_buttons_body(self),
        })


@dataclass(frozen=True)
class ItemCard(Card):
    """Receipt-style card. `head` is the head title; a card has a head or a profile, never both."""

    KIND: ClassVar[str] = "itemCard"
    item_list: Sequence[Item]
    thumbnail: ItemThumbnail | None = None
    head: str | None = None
    profile: ItemProfile | None = None
    image_title: ImageTitle | None = None
    item_list_alignment: str | None = None
    item_list_summary: ItemListSummary | None = None
    title: str | None = None
    description: str | None = None
    buttons: Sequence[Button] = ()
    button_layout: str | None = None
    forwardable: bool | None = None

    def __post_init__(self) -> None:
        as_tuple(self, "item_list", self.item_list)
        as_tuple(self, "buttons", self.buttons)
        self.check(self.KIND, False)

    @property
    def image_ratio(self) -> str | None:
        ratio = self.thumbnail.ratio if self.thumbnail else None
        return f"{ratio[0]}:{ratio[1]}" if ratio else None

    def check(self, where: str, in_carousel: bool) -> None:
        most = "ITEM_CARD_ITEMS_CAROUSEL_MAX" if in_carousel else "ITEM_CARD_ITEMS_MAX"
        C.count(f"{where}.itemList", self.item_list, most, low=1)
        C.instances(f"{where}.itemList", self.item_list, Item)
        if self.thumbnail is not None:
            C.instances(f"{where}.thumbnail", [self.thumbnail], ItemThumbnail)
            if in_carousel:
                self.thumbnail.check_ratio(f"{where}.thumbnail", "ITEM_THUMBNAIL_CAROUSEL_RATIOS")
        C.nonblank(f"{where}.head.title", self.head)
        C.instances(f"{where}.profile", [self.profile] if self.profile else [], ItemProfile)
        if self.head is not None and self.profile is not None:
            raise LimitError(f"{where}: head and profile are exclusive")
        C.instances(f"{where}.imageTitle", [self.image_title] if self.image_title else [], ImageTitle)
        C.one_of(f"{where}.itemListAlignment", self.item_list_alignment, L.ITEM_LIST_ALIGNMENTS, required=False)
        C.instances(f"{where}.itemListSummary", [self.item_list_summary] if self.item_list_summary else [],
                    ItemListSummary)
        self._check_text(where, in_carousel)
        check_buttons(where, self.buttons, self.button_layout, None)
        C.boolean(f"{where}.forwardable", self.forwardable)

    def _check_text(self, where: str, in_carousel: bool) -> None:
        C.text(f"{where}.title", self.title, required=False)
        C.text(f"{where}.description", self.description, required=False)
        if self.title is None:
            if self.description is not None:
                raise LimitError(f"{where}.description: needs a title")
            return
        most = "ITEM_CARD_TEXT_CAROUSEL_MAX" if in_carousel else "ITEM_CARD_TEXT_MAX"
        C.text(f"{where}.title+description", self.title + (self.description or ""), most, required=False)
        shown = self.title if self.description is None else f"{self.title}\n{self.description}"
        C.lines(f"{where}.title+description", shown, "ITEM_CARD_TEXT_LINES_MAX")

    def body(self) -> dict[str, Any]:
        return C.compact({
            "thumbnail": self.thumbnail.to_dict() if self.thumbnail else None,
            "head": {"title": self.head} if self.head is not None else None,
            "profile": self.profile.to_dict() if self.profile else None,
            "imageTitle": self.image_title.to_dict() if self.image_title else None,
            "itemList": [i.to_dict() for i in self.item_list],
            "itemListAlignment": self.item_list_alignment,
            "itemListSummary": self.item_list_summary.to_dict() if self.item_list_summary else None,
            "title": self.title,
            "description": self.description,
            **_buttons_body(self),
        })


_CARD_KINDS = (TextCard, BasicCard, CommerceCard, ListCard, ItemCard)
# itemCard carousels set these on every card or on none (§4.2).
_ITEM_CARD_SHARED = ("thumbnail", "head", "profile", "image_title")


@dataclass(frozen=True)
class Carousel(Component):
    """Cards of one type; the type is taken from the items."""

    KIND: ClassVar[str] = "carousel"
    items: Sequence[Card]
    header: CarouselHeader | None = None

    def __post_init__(self) -> None:
        as_tuple(self, "items", self.items)
        C.instances("carousel.items", self.items, _CARD_KINDS)
        if not self.items:
            raise LimitError("carousel.items: at least 1 required")
        kinds = {type(i) for i in self.items}
        if len(kinds) > 1:
            raise LimitError(f"carousel.items: one card type per carousel, got {sorted(k.KIND for k in kinds)}")
        most = "CAROUSEL_LIST_CARD_ITEMS_MAX" if self.type == "listCard" else "CAROUSEL_ITEMS_MAX"
        C.count("carousel.items", self.items, most)
        for i, item in enumerate(self.items):
            item.check(f"carousel.items[{i}]", True)
        if self.header is not None:
            C.instances("carousel.header", [self.header], CarouselHeader)
            if self.type in L.CAROUSEL_TYPES_WITHOUT_HEADER:
                raise LimitError(f"carousel.header: not allowed for {self.type} carousels")
        ratios = {r for r in (getattr(i, "image_ratio", None) for i in self.items) if r}
        if len(ratios) > 1:
            raise LimitError(f"carousel.items: one image ratio per carousel, got {sorted(ratios)}")
        if self.type == "itemCard":
            for name in _ITEM_CARD_SHARED:
                if len({getattr(i, name) is None for i in self.items}) > 1:
                    raise LimitError(f"carousel.items: itemCard {name} must be set on every card or none")

    @property
    def type(self) -> str:
        return self.items[0].KIND

    def body(self) -> dict[str, Any]:
        return C.compact({
            "type": self.type,
            "items": [i.body() for i in self.items],
            "header": self.header.to_dict() if self.header else None,
        })


COMPONENT_KINDS = (SimpleText, SimpleImage, TextCard, BasicCard, CommerceCard, ListCard, ItemCard, Carousel)
