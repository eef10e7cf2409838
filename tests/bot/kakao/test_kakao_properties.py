"""Property tests: builder output within limits always validates; nothing here raises on junk."""

from __future__ import annotations

import copy
import functools
import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kakao_testdata import FIXTURES

from bot.kakao import limits as L
from bot.kakao.payload import PayloadError, parse_turn
from bot.kakao.response import (
    BasicCard,
    Button,
    Carousel,
    CarouselHeader,
    CommerceCard,
    ContextControl,
    ContextValue,
    ImageTitle,
    Item,
    ItemCard,
    ItemListSummary,
    ItemProfile,
    ItemThumbnail,
    LimitError,
    Link,
    ListCard,
    ListItem,
    Profile,
    QuickReply,
    SimpleImage,
    SimpleText,
    SkillResponse,
    TextCard,
    Thumbnail,
    fit_text,
)
from bot.kakao.validate import validate_response

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Whole random replies are slow to draw; fewer examples keep the suite quick for everyone.
HEAVY = settings(SETTINGS, max_examples=80)

# Letters (Hangul included), digits, punctuation, symbols (emoji), spaces, combining marks; no newlines.
CHARS = st.characters(categories=("L", "N", "P", "S", "Zs", "Mn"))


# Strategies are cached: building fresh ones on every draw makes Hypothesis re-validate them (slow).
cached = functools.lru_cache(maxsize=None)


@cached
def text(limit: int) -> st.SearchStrategy[str]:
    """Non-blank text within `limit` as Kakao counts it (emoji count 2)."""
    return st.text(CHARS, min_size=1, max_size=limit).map(lambda s: fit_text(s, limit)).filter(str.strip)


@cached
def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


urls = st.text("abcxyz0189-", min_size=1, max_size=12).map(lambda s: f"https://example.org/{s}.png")
ids = st.text("0123456789abcdef", min_size=1, max_size=24)
extras = st.dictionaries(st.text(max_size=8), st.none() | st.booleans() | st.integers(-10**9, 10**9)
                         | st.text(max_size=20) | st.lists(st.integers(), max_size=3), max_size=4)
links = st.builds(Link, web=urls) | st.builds(Link, pc=maybe(urls), mobile=urls)


@cached
def button(label_max: int) -> st.SearchStrategy[Button]:
    label = text(label_max)
    return st.one_of(
        st.builds(Button.web_link, label, urls),
        st.builds(Button.message, label, maybe(text(100)), maybe(extras)),
        st.builds(Button.block, label, ids, maybe(text(100)), maybe(extras)),
        st.builds(Button.phone, label, st.from_regex(r"0\d{1,2}-\d{3,4}-\d{4}", fullmatch=True)),
        st.builds(Button.share, label),
        st.builds(Button.operator, label),
    )


@cached
@st.composite
def buttons(draw, fixed_ratio: bool | None = None):
    layout = draw(st.sampled_from([None, "vertical", "horizontal"]))
    horizontal = (layout or ("horizontal" if fixed_ratio else "vertical")) == "horizontal"
    n = draw(st.integers(0, L.BUTTONS_HORIZONTAL_MAX if horizontal else L.BUTTONS_VERTICAL_MAX))
    label_max = L.BUTTON_LABEL_SIDE_BY_SIDE_MAX if horizontal and n == 2 else L.BUTTON_LABEL_MAX
    return {"buttons": [draw(button(label_max)) for _ in range(n)], "button_layout": layout,
            "forwardable": draw(maybe(st.booleans()))}


@cached
def thumbnail(fixed_ratio) -> st.SearchStrategy[Thumbnail]:
    return st.builds(Thumbnail, urls, maybe(text(L.ALT_TEXT_MAX)), maybe(links), st.just(fixed_ratio))


@cached
@st.composite
def text_card(draw, in_carousel=False):
    title = draw(maybe(text(L.TEXT_CARD_TITLE_MAX)))
    most = L.TEXT_CARD_DESCRIPTION_CAROUSEL_MAX if in_carousel else L.TEXT_CARD_DESCRIPTION_MAX
    description = draw(text(most) if title is None else maybe(text(most)))
    return TextCard(title, description, **draw(buttons()))


@cached
@st.composite
def basic_card(draw, in_carousel=False, fixed_ratio=None):
    fixed_ratio = draw(maybe(st.booleans())) if fixed_ratio is None else fixed_ratio
    return BasicCard(draw(thumbnail(fixed_ratio)), draw(maybe(text(L.BASIC_CARD_TITLE_MAX))),
                     draw(maybe(text(L.BASIC_CARD_DESCRIPTION_MAX))),
                     draw(maybe(st.builds(Profile, text(20), maybe(urls)))), **draw(buttons(fixed_ratio)))


@cached
@st.composite
def commerce_card(draw, in_carousel=False, fixed_ratio=None):
    fixed_ratio = draw(maybe(st.booleans())) if fixed_ratio is None else fixed_ratio
    price = draw(st.integers(0, 10**8))
    return CommerceCard(
        price, [draw(thumbnail(fixed_ratio))], draw(maybe(text(L.COMMERCE_CARD_TITLE_MAX))),
        draw(maybe(text(L.COMMERCE_CARD_DESCRIPTION_MAX))), "won", draw(maybe(st.integers(0, price))),
        draw(maybe(st.integers(0, 100))), draw(maybe(st.integers(0, price))),
        draw(maybe(st.builds(Profile, text(20), maybe(urls)))), **draw(buttons(fixed_ratio)))


@st.composite
def list_item(draw):
    action = draw(st.sampled_from([None, "block", "message"]))
    fields = {} if action is None else {
        "action": action, "block_id": draw(ids) if action == "block" else None,
        "message_text": draw(maybe(text(50))), "extra": draw(maybe(extras))}
    return ListItem(draw(text(40)), draw(maybe(text(40))), draw(maybe(urls)), draw(maybe(links)), **fields)


@cached
@st.composite
def list_card(draw, in_carousel=False):
    most = L.LIST_CARD_ITEMS_CAROUSEL_MAX if in_carousel else L.LIST_CARD_ITEMS_MAX
    return ListCard(draw(text(30)), draw(st.lists(list_item(), min_size=1, max_size=most)), **draw(buttons()))


@st.composite
def summary_amount(draw):
    amount = f"{draw(st.integers(0, 10**8)):,}"
    if draw(st.booleans()):
        amount += "." + draw(st.text("0123456789", min_size=1, max_size=L.ITEM_SUMMARY_DECIMALS_MAX))
    symbol = draw(st.sampled_from(["", *L.ITEM_SUMMARY_CURRENCY_SYMBOLS]))
    amount = amount + symbol if symbol == "원" else symbol + amount
    assume(len(amount) <= L.ITEM_SUMMARY_DESCRIPTION_MAX)
    return amount


# (thumbnail?, head / profile / neither, imageTitle?): shared by every card of an itemCard carousel
item_card_shapes = st.tuples(st.booleans(), st.sampled_from([None, "head", "profile"]), st.booleans())


@cached
@st.composite
def item_card(draw, in_carousel=False, shape=None):
    has_thumbnail, head_kind, has_image_title = shape or draw(item_card_shapes)
    ratios = L.ITEM_THUMBNAIL_CAROUSEL_RATIOS if in_carousel else L.ITEM_THUMBNAIL_RATIOS
    thumb = None
    if has_thumbnail:
        w, h = draw(st.sampled_from(sorted(ratios)))
        scale = draw(st.sampled_from([None, 400, 800]))
        thumb = ItemThumbnail(draw(urls), w * scale if scale else None, h * scale if scale else None, draw(maybe(links)))
    most_items = L.ITEM_CARD_ITEMS_CAROUSEL_MAX if in_carousel else L.ITEM_CARD_ITEMS_MAX
    items = draw(st.lists(st.builds(Item, text(L.ITEM_TITLE_MAX), text(30)), min_size=1, max_size=most_items))
    most_text = L.ITEM_CARD_TEXT_CAROUSEL_MAX if in_carousel else L.ITEM_CARD_TEXT_MAX
    title = draw(maybe(text(most_text // 2)))
    description = draw(maybe(text(most_text - L.text_length(title)))) if title else None
    return ItemCard(
        items, thumb,
        head=draw(text(20)) if head_kind == "head" else None,
        profile=ItemProfile(draw(text(L.ITEM_PROFILE_TITLE_MAX)), draw(maybe(urls))) if head_kind == "profile" else None,
        image_title=ImageTitle(draw(text(40)), draw(maybe(text(30))), draw(maybe(urls))) if has_image_title else None,
        item_list_alignment=draw(st.sampled_from([None, "left", "right"])),
        item_list_summary=draw(maybe(st.builds(ItemListSummary, text(L.ITEM_SUMMARY_TITLE_MAX), summary_amount()))),
        title=title, description=description, **draw(buttons()))


@st.composite
def carousel(draw):
    kind = draw(st.sampled_from(sorted(L.CAROUSEL_TYPES)))
    most = L.CAROUSEL_LIST_CARD_ITEMS_MAX if kind == "listCard" else L.CAROUSEL_ITEMS_MAX
    if kind in ("basicCard", "commerceCard"):
        make = basic_card if kind == "basicCard" else commerce_card
        card = make(in_carousel=True, fixed_ratio=draw(st.booleans()))
    elif kind == "itemCard":
        card = item_card(in_carousel=True, shape=draw(item_card_shapes))
    else:
        card = (text_card if kind == "textCard" else list_card)(in_carousel=True)
    items = draw(st.lists(card, min_size=1, max_size=most))
    header = None
    if kind not in L.CAROUSEL_TYPES_WITHOUT_HEADER:
        header = draw(maybe(st.builds(CarouselHeader, text(30), maybe(text(60)), maybe(thumbnail(None)))))
    return Carousel(items, header)


components = st.one_of(
    st.builds(SimpleText, text(L.SIMPLE_TEXT_MAX)),
    st.builds(SimpleImage, urls, maybe(text(L.ALT_TEXT_MAX))),
    text_card(), basic_card(), commerce_card(), list_card(), item_card(), carousel(),
)
quick_replies = st.one_of(
    st.builds(QuickReply.message, text(L.QUICK_REPLY_LABEL_MAX), maybe(text(100)), maybe(extras)),
    st.builds(QuickReply.block, text(L.QUICK_REPLY_LABEL_MAX), ids, maybe(text(100)), maybe(extras)),
)
contexts = st.builds(ContextControl, st.lists(st.builds(
    ContextValue, text(20), st.integers(0, 10), maybe(st.integers(0, 3600)),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=10) | st.booleans(), max_size=3)), max_size=3))


@st.composite
def responses(draw):
    outputs = draw(st.lists(components, min_size=1, max_size=L.OUTPUTS_MAX))
    try:
        return SkillResponse(outputs, draw(st.lists(quick_replies, max_size=L.QUICK_REPLIES_MAX)),
                             draw(maybe(contexts)), draw(maybe(extras)))
    except LimitError as exc:
        # Random cards can add up past the byte limit; every other refusal is a real failure.
        assume("RESPONSE_MAX_BYTES" not in str(exc))
        raise


@HEAVY
@given(responses())
def test_builder_output_always_validates(response):
    body = response.to_dict()
    assert validate_response(body) == []
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=40,
)
# Keys the validator knows, so random objects reach deep into its checks.
known_keys = st.sampled_from([
    "version", "template", "outputs", "quickReplies", "simpleText", "text", "carousel", "type", "items", "itemCard",
    "itemList", "title", "description", "buttons", "label", "action", "blockId", "basicCard", "thumbnail",
    "imageUrl", "fixedRatio", "header", "listCard", "commerceCard", "price", "thumbnails", "context", "values",
    "data", "head", "profile", "width", "height", "itemListSummary", "buttonLayout"])
shaped_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.floats() | st.text(max_size=20)
    | st.sampled_from(["2.0", "block", "message", "basicCard", "itemCard", "listCard", "horizontal", "https://x.org"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(known_keys | st.text(max_size=5), children, max_size=6),
    max_leaves=60,
)


def _no_crash(obj) -> None:
    problems = validate_response(obj)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    assert not any("internal error" in p for p in problems), problems


@SETTINGS
@given(json_values | shaped_json)
def test_validator_never_raises_on_arbitrary_json(obj):
    _no_crash(obj)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@HEAVY
@given(responses(), st.data())
def test_validator_never_raises_on_damaged_replies(response, data):
    body = response.to_dict()
    path = data.draw(st.sampled_from(list(_paths(body))[1:]))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(shaped_json)
    _no_crash(body)


@SETTINGS
@given(st.text(), st.integers(1, 1200))
def test_fit_text_always_fits(s, limit):
    out = fit_text(s, limit)
    assert L.text_length(out) <= limit
    if L.text_length(s) <= limit:
        assert out == s
    else:
        assert out.endswith("…") and s.startswith(out[:-1])


REQUESTS = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.rglob("*.json"))]


@HEAVY
@given(st.sampled_from(REQUESTS), st.data())
def test_parse_turn_only_raises_payload_error(payload, data):
    payload = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(payload))[1:]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = data.draw(shaped_json)
    try:
        turn = parse_turn(payload, "fallback")
    except PayloadError:
        return
    assert isinstance(turn.user_key, str) and turn.user_key.strip()
    assert isinstance(turn.utterance, str) and isinstance(turn.client_extra, dict)
    assert all(isinstance(v, str) for v in turn.params.values())
