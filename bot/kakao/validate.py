"""Independent check of a SkillResponse dict against the v2.0 rules (§4).

Shares only the numbers (limits.py) with the builders, not their code, so a builder bug cannot hide
itself. validate_response() never raises: it returns readable problems, [] when the reply is valid.

Choices where the spec is silent:
- An optional field set to null is read as absent (serialisers emit null for unset fields, and the
  public callback example 03 carries `"data": null`); a required field set to null is a problem.
- `template` may be left out only when `useCallback` is true (the callback acknowledgement); every
  other reply must carry one, because this bot's blocks all use skill data.
- Unknown keys are problems: Kakao silently ignores them, so a typo (`block_id`, `messagetext`)
  would otherwise ship a broken button.
- Line limits count explicit newlines only; client-side wrapping cannot be predicted.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bot.kakao import limits as L

_COMPONENTS = ("simpleText", "simpleImage", "textCard", "basicCard", "commerceCard", "listCard", "itemCard",
               "carousel")
_BUTTON_KEYS = {"label", "action", "webLinkUrl", "messageText", "phoneNumber", "blockId", "extra"}
_BUTTON_FIELDS = {  # per action: fields it takes, and which of them are required
    "webLink": ({"webLinkUrl"}, {"webLinkUrl"}),
    "message": ({"messageText", "extra"}, {"messageText"}),
    "block": ({"blockId", "messageText", "extra"}, {"blockId"}),
    "phone": ({"phoneNumber"}, {"phoneNumber"}),
    "share": (set(), set()),
    "operator": (set(), set()),
}
_CARD_BUTTON_KEYS = {"buttons", "buttonLayout", "forwardable"}
_THUMBNAIL_KEYS = {"imageUrl", "altText", "link", "fixedRatio", "width", "height"}
_ITEM_CARD_SHARED = ("thumbnail", "head", "profile", "imageTitle")


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # -- primitives ---------------------------------------------------------------------------

    def obj(self, path: str, value: Any, allowed: set[str], required: tuple[str, ...] = ()) -> dict | None:
        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.add(path, f"unknown field {key!r}")
        for key in required:
            if value.get(key) is None:
                self.add(f"{path}.{key}", "required")
        return value

    def text(self, path: str, value: Any, limit_name: str | None = None, *, required: bool = False) -> str | None:
        if value is None:
            return None  # `required` is reported by obj()
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {_kind(value)}")
            return None
        if required and not value.strip():
            self.add(path, "must not be blank")
        if not L.is_encodable(value):
            self.add(path, "not valid Unicode text (lone surrogate)")
        if limit_name is not None:
            n, most = L.text_length(value), getattr(L, limit_name)
            if n > most:
                self.add(path, f"{n} characters, limit {most} ({limit_name})")
        return value

    def lines(self, path: str, value: str | None, limit_name: str) -> None:
        most = getattr(L, limit_name)
        if isinstance(value, str) and L.line_count(value) > most:
            self.add(path, f"{L.line_count(value)} lines, limit {most} ({limit_name})")

    def url(self, path: str, value: Any) -> None:
        if self.text(path, value) is not None and not L.URL_PATTERN.match(value):
            self.add(path, "must be an absolute http(s) URL")

    def integer(self, path: str, value: Any, *, low: int = 0, high: int | None = None) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, f"must be an integer, got {_kind(value)}")
            return None
        if value < low or (high is not None and value > high):
            self.add(path, f"{value} must be >= {low}" if high is None else f"{value} outside {low}..{high}")
        return value

    def boolean(self, path: str, value: Any) -> None:
        if value is not None and not isinstance(value, bool):
            self.add(path, f"must be true or false, got {_kind(value)}")

    def enum(self, path: str, value: Any, allowed: frozenset[str]) -> None:
        if value is not None and (not isinstance(value, str) or value not in allowed):
            self.add(path, f"{value!r} not one of {sorted(allowed)}")

    def array(self, path: str, value: Any, limit_name: str | None = None, *, low: int = 0) -> list:
        if value is None:
            value = []
        if not isinstance(value, list):
            self.add(path, f"must be an array, got {_kind(value)}")
            return []
        if limit_name is not None and len(value) > getattr(L, limit_name):
            self.add(path, f"{len(value)} items, limit {getattr(L, limit_name)} ({limit_name})")
        if len(value) < low:
            self.add(path, f"at least {low} required")
        return value

    def json_map(self, path: str, value: Any, *, string_values: bool = False) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {_kind(value)}")
            return
        for key, item in value.items():
            if not isinstance(key, str):
                self.add(path, f"key {key!r} must be a string")
            if string_values and not isinstance(item, str):
                self.add(f"{path}.{key}", f"must be a string, got {_kind(item)}")

    # -- shared parts ---------------------------------------------------------------------------

    def link(self, path: str, value: Any) -> None:
        if value is None:
            return
        link = self.obj(path, value, {"web", "pc", "mobile"})
        if link is None:
            return
        if all(link.get(k) is None for k in ("web", "pc", "mobile")):
            self.add(path, "needs at least one of web, pc, mobile")
        for key in ("web", "pc", "mobile"):
            self.url(f"{path}.{key}", link.get(key))

    def thumbnail(self, path: str, value: Any) -> dict | None:
        thumb = self.obj(path, value, _THUMBNAIL_KEYS, ("imageUrl",))
        if thumb is None:
            return None
        self.url(f"{path}.imageUrl", thumb.get("imageUrl"))
        self.text(f"{path}.altText", thumb.get("altText"), "ALT_TEXT_MAX")
        self.link(f"{path}.link", thumb.get("link"))
        self.boolean(f"{path}.fixedRatio", thumb.get("fixedRatio"))
        self.integer(f"{path}.width", thumb.get("width"), low=1)
        self.integer(f"{path}.height", thumb.get("height"), low=1)
        return thumb

    def profile(self, path: str, value: Any) -> None:
        if value is None:
            return
        profile = self.obj(path, value, {"nickname", "imageUrl", "width", "height"}, ("nickname",))
        if profile is None:
            return
        self.text(f"{path}.nickname", profile.get("nickname"), required=True)
        self.url(f"{path}.imageUrl", profile.get("imageUrl"))
        self.integer(f"{path}.width", profile.get("width"), low=1)
        self.integer(f"{path}.height", profile.get("height"), low=1)

    def button(self, path: str, value: Any) -> str | None:
        button = self.obj(path, value, _BUTTON_KEYS, ("label", "action"))
        if button is None:
            return None
        label = self.text(f"{path}.label", button.get("label"), "BUTTON_LABEL_MAX", required=True)
        action = button.get("action")
        self.enum(f"{path}.action", action, L.BUTTON_ACTIONS)
        if isinstance(action, str) and action in _BUTTON_FIELDS:
            takes, needs = _BUTTON_FIELDS[action]
            for key in _BUTTON_KEYS - {"label", "action"}:
                if button.get(key) is not None and key not in takes:
                    self.add(f"{path}.{key}", f"not used by action {action!r}")
                elif key in needs and button.get(key) is None:
                    self.add(f"{path}.{key}", f"required for action {action!r}")
        self.url(f"{path}.webLinkUrl", button.get("webLinkUrl"))
        for key in ("messageText", "phoneNumber", "blockId"):
            self.text(f"{path}.{key}", button.get(key), required=True)
        self.json_map(f"{path}.extra", button.get("extra"))
        return label

    def buttons(self, path: str, card: dict, fixed_ratio: Any = None) -> None:
        layout = card.get("buttonLayout")
        self.enum(f"{path}.buttonLayout", layout, L.BUTTON_LAYOUTS)
        self.boolean(f"{path}.forwardable", card.get("forwardable"))
        effective = layout if isinstance(layout, str) and layout in L.BUTTON_LAYOUTS else ("horizontal" if fixed_ratio is True else "vertical")
        limit_name = "BUTTONS_HORIZONTAL_MAX" if effective == "horizontal" else "BUTTONS_VERTICAL_MAX"
        buttons = self.array(f"{path}.buttons ({effective})", card.get("buttons"), limit_name)
        labels = [self.button(f"{path}.buttons[{i}]", b) for i, b in enumerate(buttons)]
        if effective == "horizontal" and len(buttons) == 2:
            most = L.BUTTON_LABEL_SIDE_BY_SIDE_MAX
            for i, label in enumerate(labels):
                if label is not None and L.text_length(label) > most:
                    self.add(f"{path}.buttons[{i}].label",
                             f"{L.text_length(label)} characters side by side, limit {most} (BUTTON_LABEL_SIDE_BY_SIDE_MAX)")

    def quick_reply(self, path: str, value: Any) -> None:
        reply = self.obj(path, value, {"label", "action", "messageText", "blockId", "extra"}, ("label", "action"))
        if reply is None:
            return
        self.text(f"{path}.label", reply.get("label"), "QUICK_REPLY_LABEL_MAX", required=True)
        action = reply.get("action")
        self.enum(f"{path}.action", action, L.QUICK_REPLY_ACTIONS)
        self._item_action(path, reply, action)

    def _item_action(self, path: str, item: dict, action: Any) -> None:
        """block/message action fields shared by quick replies and list items."""
        if action == "block" and item.get("blockId") is None:
            self.add(f"{path}.blockId", "required for action 'block'")
        if action != "block" and item.get("blockId") is not None:
            self.add(f"{path}.blockId", "only for action 'block'")
        if action == "message" and item.get("messageText") is None:
            self.add(f"{path}.messageText", "required for action 'message'")
        self.text(f"{path}.blockId", item.get("blockId"), required=True)
        self.text(f"{path}.messageText", item.get("messageText"), required=True)
        self.json_map(f"{path}.extra", item.get("extra"))

    # -- components -----------------------------------------------------------------------------

    def simple_text(self, path: str, body: Any, in_carousel: bool) -> None:
        body = self.obj(path, body, {"text"}, ("text",))
        if body is not None:
            self.text(f"{path}.text", body.get("text"), "SIMPLE_TEXT_MAX", required=True)

    def simple_image(self, path: str, body: Any, in_carousel: bool) -> None:
        body = self.obj(path, body, {"imageUrl", "altText"}, ("imageUrl",))
        if body is not None:
            self.url(f"{path}.imageUrl", body.get("imageUrl"))
            self.text(f"{path}.altText", body.get("altText"), "ALT_TEXT_MAX")

    def text_card(self, path: str, body: Any, in_carousel: bool) -> None:
        card = self.obj(path, body, {"title", "description"} | _CARD_BUTTON_KEYS)
        if card is None:
            return
        title = self.text(f"{path}.title", card.get("title"), "TEXT_CARD_TITLE_MAX")
        desc_limit = "TEXT_CARD_DESCRIPTION_CAROUSEL_MAX" if in_carousel else "TEXT_CARD_DESCRIPTION_MAX"
        desc = self.text(f"{path}.description", card.get("description"), desc_limit)
        if not ((title or "").strip() or (desc or "").strip()):
            self.add(path, "needs a title or a description")
        self.buttons(path, card)

    def basic_card(self, path: str, body: Any, in_carousel: bool) -> None:
        card = self.obj(path, body, {"title", "description", "thumbnail", "profile"} | _CARD_BUTTON_KEYS,
                        ("thumbnail",))
        if card is None:
            return
        self.text(f"{path}.title", card.get("title"), "BASIC_CARD_TITLE_MAX")
        self.text(f"{path}.description", card.get("description"), "BASIC_CARD_DESCRIPTION_MAX")
        thumb = self.thumbnail(f"{path}.thumbnail", card["thumbnail"]) if card.get("thumbnail") is not None else None
        self.profile(f"{path}.profile", card.get("profile"))
        self.buttons(path, card, (thumb or {}).get("fixedRatio"))

    def commerce_card(self, path: str, body: Any, in_carousel: bool) -> None:
        keys = {"title", "description", "price", "currency", "discount", "discountRate", "discountedPrice",
                "thumbnails", "profile"} | _CARD_BUTTON_KEYS
        card = self.obj(path, body, keys, ("price", "thumbnails"))
        if card is None:
            return
        self.integer(f"{path}.price", card.get("price"))
        self.text(f"{path}.title", card.get("title"), "COMMERCE_CARD_TITLE_MAX")
        self.text(f"{path}.description", card.get("description"), "COMMERCE_CARD_DESCRIPTION_MAX")
        self.enum(f"{path}.currency", card.get("currency"), L.COMMERCE_CURRENCIES)
        self.integer(f"{path}.discount", card.get("discount"))
        self.integer(f"{path}.discountRate", card.get("discountRate"), high=L.DISCOUNT_RATE_MAX)
        self.integer(f"{path}.discountedPrice", card.get("discountedPrice"))
        thumbs = self.array(f"{path}.thumbnails", card.get("thumbnails"))
        if card.get("thumbnails") is not None and len(thumbs) != L.COMMERCE_CARD_THUMBNAILS:
            self.add(f"{path}.thumbnails", f"{len(thumbs)} given, exactly {L.COMMERCE_CARD_THUMBNAILS} "
                                           "(COMMERCE_CARD_THUMBNAILS)")
        parsed = [self.thumbnail(f"{path}.thumbnails[{i}]", t) for i, t in enumerate(thumbs)]
        self.profile(f"{path}.profile", card.get("profile"))
        self.buttons(path, card, (parsed[0] or {}).get("fixedRatio") if parsed else None)

    def list_card(self, path: str, body: Any, in_carousel: bool) -> None:
        card = self.obj(path, body, {"header", "items"} | _CARD_BUTTON_KEYS, ("header", "items"))
        if card is None:
            return
        if card.get("header") is not None:
            # Kakao ignores a header description/imageUrl; they are tolerated, not required.
            header = self.obj(f"{path}.header", card["header"], {"title", "description", "imageUrl"}, ("title",))
            if header is not None:
                self.text(f"{path}.header.title", header.get("title"), required=True)
        most = "LIST_CARD_ITEMS_CAROUSEL_MAX" if in_carousel else "LIST_CARD_ITEMS_MAX"
        for i, item in enumerate(self.array(f"{path}.items", card.get("items"), most, low=1)):
            self.list_item(f"{path}.items[{i}]", item)
        self.buttons(path, card)

    def list_item(self, path: str, value: Any) -> None:
        keys = {"title", "description", "imageUrl", "link", "action", "blockId", "messageText", "extra"}
        item = self.obj(path, value, keys, ("title",))
        if item is None:
            return
        self.text(f"{path}.title", item.get("title"), required=True)
        self.text(f"{path}.description", item.get("description"))
        self.url(f"{path}.imageUrl", item.get("imageUrl"))
        self.link(f"{path}.link", item.get("link"))
        action = item.get("action")
        if action is None:
            for key in ("blockId", "messageText", "extra"):
                if item.get(key) is not None:
                    self.add(f"{path}.{key}", "needs an action")
            return
        self.enum(f"{path}.action", action, L.LIST_ITEM_ACTIONS)
        self._item_action(path, item, action)

    def item_card(self, path: str, body: Any, in_carousel: bool) -> None:
        keys = {"thumbnail", "head", "profile", "imageTitle", "itemList", "itemListAlignment", "itemListSummary",
                "title", "description"} | _CARD_BUTTON_KEYS
        card = self.obj(path, body, keys, ("itemList",))
        if card is None:
            return
        most = "ITEM_CARD_ITEMS_CAROUSEL_MAX" if in_carousel else "ITEM_CARD_ITEMS_MAX"
        for i, item in enumerate(self.array(f"{path}.itemList", card.get("itemList"), most, low=1)):
            self.item_row(f"{path}.itemList[{i}]", item)
        if card.get("thumbnail") is not None:
            self.item_thumbnail(f"{path}.thumbnail", card["thumbnail"], in_carousel)
        if card.get("head") is not None:
            head = self.obj(f"{path}.head", card["head"], {"title"}, ("title",))
            if head is not None:
                self.text(f"{path}.head.title", head.get("title"), required=True)
        if card.get("profile") is not None:
            self.item_profile(f"{path}.profile", card["profile"])
            if card.get("head") is not None:
                self.add(path, "head and profile are exclusive")
        if card.get("imageTitle") is not None:
            self.image_title(f"{path}.imageTitle", card["imageTitle"])
        self.enum(f"{path}.itemListAlignment", card.get("itemListAlignment"), L.ITEM_LIST_ALIGNMENTS)
        if card.get("itemListSummary") is not None:
            self.item_summary(f"{path}.itemListSummary", card["itemListSummary"])
        self.item_card_text(path, card, in_carousel)
        self.buttons(path, card)

    def item_row(self, path: str, value: Any) -> None:
        row = self.obj(path, value, {"title", "description"}, ("title", "description"))
        if row is None:
            return
        self.text(f"{path}.title", row.get("title"), "ITEM_TITLE_MAX", required=True)
        self.lines(f"{path}.description", self.text(f"{path}.description", row.get("description"), required=True),
                   "ITEM_DESCRIPTION_LINES_MAX")

    def item_thumbnail(self, path: str, value: Any, in_carousel: bool) -> None:
        thumb = self.obj(path, value, {"imageUrl", "width", "height", "link"}, ("imageUrl",))
        if thumb is None:
            return
        self.url(f"{path}.imageUrl", thumb.get("imageUrl"))
        self.link(f"{path}.link", thumb.get("link"))
        width = self.integer(f"{path}.width", thumb.get("width"), low=1)
        height = self.integer(f"{path}.height", thumb.get("height"), low=1)
        if (thumb.get("width") is None) != (thumb.get("height") is None):
            self.add(path, "give both width and height or neither")
        ratio = _ratio(width, height)
        allowed_name = "ITEM_THUMBNAIL_CAROUSEL_RATIOS" if in_carousel else "ITEM_THUMBNAIL_RATIOS"
        allowed = getattr(L, allowed_name)
        if ratio is not None and ratio not in allowed:
            shown = ", ".join(f"{w}:{h}" for w, h in sorted(allowed))
            self.add(path, f"ratio {ratio[0]}:{ratio[1]} not allowed ({shown}; {allowed_name})")

    def item_profile(self, path: str, value: Any) -> None:
        profile = self.obj(path, value, {"title", "imageUrl", "width", "height"}, ("title",))
        if profile is None:
            return
        self.text(f"{path}.title", profile.get("title"), "ITEM_PROFILE_TITLE_MAX", required=True)
        self.url(f"{path}.imageUrl", profile.get("imageUrl"))
        self.integer(f"{path}.width", profile.get("width"), low=1)
        self.integer(f"{path}.height", profile.get("height"), low=1)

    def image_title(self, path: str, value: Any) -> None:
        it = self.obj(path, value, {"title", "description", "imageUrl"}, ("title",))
        if it is None:
            return
        self.lines(f"{path}.title", self.text(f"{path}.title", it.get("title"), required=True),
                   "IMAGE_TITLE_TITLE_LINES_MAX")
        self.lines(f"{path}.description", self.text(f"{path}.description", it.get("description")),
                   "IMAGE_TITLE_DESCRIPTION_LINES_MAX")
        self.url(f"{path}.imageUrl", it.get("imageUrl"))

    def item_summary(self, path: str, value: Any) -> None:
        summary = self.obj(path, value, {"title", "description"}, ("title", "description"))
        if summary is None:
            return
        self.text(f"{path}.title", summary.get("title"), "ITEM_SUMMARY_TITLE_MAX", required=True)
        desc = self.text(f"{path}.description", summary.get("description"), "ITEM_SUMMARY_DESCRIPTION_MAX",
                         required=True)
        if desc is not None and not L.item_summary_pattern().match(desc):
            self.add(f"{path}.description", "only a currency symbol, digits, comma and point "
                                            f"(<= {L.ITEM_SUMMARY_DECIMALS_MAX} decimals), e.g. '10,000{L.ITEM_SUMMARY_CURRENCY_SYMBOLS[0]}'")

    def item_card_text(self, path: str, card: dict, in_carousel: bool) -> None:
        title = self.text(f"{path}.title", card.get("title"))
        desc = self.text(f"{path}.description", card.get("description"))
        if card.get("description") is not None and card.get("title") is None:
            self.add(f"{path}.description", "needs a title")
        if title is None:
            return
        most_name = "ITEM_CARD_TEXT_CAROUSEL_MAX" if in_carousel else "ITEM_CARD_TEXT_MAX"
        n, most = L.text_length(title + (desc or "")), getattr(L, most_name)
        if n > most:
            self.add(f"{path}.title+description", f"{n} characters, limit {most} ({most_name})")
        self.lines(f"{path}.title+description", title if desc is None else f"{title}\n{desc}",
                   "ITEM_CARD_TEXT_LINES_MAX")

    def carousel(self, path: str, body: Any, in_carousel: bool) -> None:
        carousel = self.obj(path, body, {"type", "items", "header"}, ("type", "items"))
        if carousel is None:
            return
        kind = carousel.get("type")
        self.enum(f"{path}.type", kind, L.CAROUSEL_TYPES)
        most = "CAROUSEL_LIST_CARD_ITEMS_MAX" if kind == "listCard" else "CAROUSEL_ITEMS_MAX"
        items = self.array(f"{path}.items", carousel.get("items"), most, low=1)
        check = _CARD_CHECKS.get(kind) if isinstance(kind, str) else None
        if check is not None:
            for i, item in enumerate(items):
                check(self, f"{path}.items[{i}]", item, True)
        if carousel.get("header") is not None:
            if isinstance(kind, str) and kind in L.CAROUSEL_TYPES_WITHOUT_HEADER:
                self.add(f"{path}.header", f"not allowed for {kind} carousels")
            self.carousel_header(f"{path}.header", carousel["header"])
        cards = [i for i in items if isinstance(i, dict)]
        ratios = {r for r in (_image_ratio(kind, c) for c in cards) if r}
        if len(ratios) > 1:
            self.add(f"{path}.items", f"one image ratio per carousel, got {sorted(ratios)}")
        if kind == "itemCard":
            for key in _ITEM_CARD_SHARED:
                if len({c.get(key) is None for c in cards}) > 1:
                    self.add(f"{path}.items", f"itemCard {key} must be set on every card or none")

    def carousel_header(self, path: str, value: Any) -> None:
        header = self.obj(path, value, {"title", "description", "thumbnail"}, ("title",))
        if header is None:
            return
        self.lines(f"{path}.title", self.text(f"{path}.title", header.get("title"), required=True),
                   "CAROUSEL_HEADER_TITLE_LINES_MAX")
        self.lines(f"{path}.description", self.text(f"{path}.description", header.get("description")),
                   "CAROUSEL_HEADER_DESCRIPTION_LINES_MAX")
        if header.get("thumbnail") is not None:
            self.thumbnail(f"{path}.thumbnail", header["thumbnail"])

    # -- envelope -------------------------------------------------------------------------------

    def template(self, path: str, value: Any) -> None:
        template = self.obj(path, value, {"outputs", "quickReplies"}, ("outputs",))
        if template is None:
            return
        outputs = self.array(f"{path}.outputs", template.get("outputs"), "OUTPUTS_MAX",
                             low=L.OUTPUTS_MIN if template.get("outputs") is not None else 0)
        for i, output in enumerate(outputs):
            self.output(f"{path}.outputs[{i}]", output)
        replies = self.array(f"{path}.quickReplies", template.get("quickReplies"), "QUICK_REPLIES_MAX")
        for i, reply in enumerate(replies):
            self.quick_reply(f"{path}.quickReplies[{i}]", reply)

    def output(self, path: str, value: Any) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            self.add(path, "must be an object with exactly one component")
            return
        ((kind, body),) = value.items()
        check = _OUTPUT_CHECKS.get(kind) if isinstance(kind, str) else None
        if check is None:
            self.add(path, f"unknown component type {kind!r} (known: {', '.join(_COMPONENTS)})")
            return
        check(self, f"{path}.{kind}", body, False)

    def context(self, path: str, value: Any) -> None:
        context = self.obj(path, value, {"values"}, ("values",))
        if context is None:
            return
        for i, item in enumerate(self.array(f"{path}.values", context.get("values"))):
            where = f"{path}.values[{i}]"
            entry = self.obj(where, item, {"name", "lifeSpan", "ttl", "params"}, ("name", "lifeSpan"))
            if entry is None:
                continue
            self.text(f"{where}.name", entry.get("name"), required=True)
            self.integer(f"{where}.lifeSpan", entry.get("lifeSpan"))
            self.integer(f"{where}.ttl", entry.get("ttl"))
            self.json_map(f"{where}.params", entry.get("params"), string_values=True)

    def envelope(self, obj: Any) -> None:
        response = self.obj("response", obj, {"version", "template", "context", "data", "useCallback"})
        if response is None:
            return
        version = response.get("version")
        if version != L.VERSION:
            # without it Kakao reads the reply as the old format
            self.add("version", f"must be {L.VERSION!r}, got {version!r}")
        self.boolean("useCallback", response.get("useCallback"))
        if response.get("template") is not None:
            self.template("template", response["template"])
        elif response.get("useCallback") is not True:
            self.add("template", "required (only a useCallback acknowledgement may leave it out)")
        if response.get("context") is not None:
            self.context("context", response["context"])
        self.json_map("data", response.get("data"))
        self.size(response)

    def size(self, obj: dict) -> None:
        try:
            json.dumps(obj, allow_nan=False)
            size = L.response_bytes(obj)
        except (TypeError, ValueError, RecursionError) as exc:
            self.add("response", f"not serialisable as UTF-8 JSON ({exc.__class__.__name__}: {exc})")
            return
        if size > L.RESPONSE_MAX_BYTES:
            self.add("response", f"{size} bytes as UTF-8 JSON, limit {L.RESPONSE_MAX_BYTES} (RESPONSE_MAX_BYTES)")


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _ratio(width: int | None, height: int | None) -> tuple[int, int] | None:
    if not width or not height or width < 1 or height < 1:
        return None
    g = math.gcd(width, height)
    return (width // g, height // g)


def _image_ratio(kind: Any, card: dict) -> str | None:
    """The card's image ratio as Kakao renders it, for the one-ratio-per-carousel rule."""
    if kind == "basicCard":
        thumb = card.get("thumbnail")
    elif kind == "commerceCard":
        thumbs = card.get("thumbnails")
        thumb = thumbs[0] if isinstance(thumbs, list) and thumbs else None
    elif kind == "itemCard":
        thumb = card.get("thumbnail")
        if not isinstance(thumb, dict):
            return None
        w, h = thumb.get("width"), thumb.get("height")
        ratio = _ratio(w, h) if isinstance(w, int) and isinstance(h, int) else None
        return f"{ratio[0]}:{ratio[1]}" if ratio else None
    else:
        return None
    if not isinstance(thumb, dict):
        return None
    return "1:1" if thumb.get("fixedRatio") is True else "2:1"


_CARD_CHECKS = {
    "textCard": _Checker.text_card,
    "basicCard": _Checker.basic_card,
    "commerceCard": _Checker.commerce_card,
    "listCard": _Checker.list_card,
    "itemCard": _Checker.item_card,
}
_OUTPUT_CHECKS = {
    **_CARD_CHECKS,
    "simpleText": _Checker.simple_text,
    "simpleImage": _Checker.simple_image,
    "carousel": _Checker.carousel,
}


def validate_response(obj: object) -> list[str]:
    """Problems with a SkillResponse dict, each as "<path>: <what is wrong>"; [] means valid."""
    checker = _Checker()
    try:
        checker.envelope(obj)
    except Exception as exc:  # noqa: BLE001 - a validator bug must surface as a problem, not a 500
        checker.add("response", f"validator internal error ({exc.__class__.__name__}: {exc})")
    return checker.problems
