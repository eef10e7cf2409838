"""The campaign card a citizen will see, built with the same components, limits and texts as
the campaigns skill (bot/dialogs/campaigns.py: a basic card with the image, a text card
without), as a v2.0 response the emulator's renderer draws (webhooks/static/emulator.js)."""
from __future__ import annotations

from bot import texts
from bot.kakao import limits
from bot.kakao.parts import Button, Thumbnail
from bot.kakao.response import BasicCard, Carousel, SimpleText, TextCard, fit_text, reply


def _t(key: str, **fmt) -> str:
    return texts.t(f"campaigns.{key}", **fmt)


def preview_reply(title: str, summary: str, starts_on, ends_on, image_url: str | None,
                  detail_url: str | None) -> dict:
    period = _t("period", start=starts_on.isoformat(), end=ends_on.isoformat())
    buttons = [Button.message(_t("join_label"), _t("join_text"), extra={"action": "join", "campaign_id": "preview"})]
    if detail_url:
        buttons.append(Button.web_link(_t("detail_label"), detail_url))
    if image_url:
        card = BasicCard(thumbnail=Thumbnail(image_url, alt_text=fit_text(title, limits.ALT_TEXT_MAX)),
                         title=fit_text(title, limits.BASIC_CARD_TITLE_MAX),
                         description=fit_text(f"{summary}\n{period}", limits.BASIC_CARD_DESCRIPTION_MAX),
                         buttons=buttons)
    else:
        card = TextCard(title=fit_text(title, limits.TEXT_CARD_TITLE_MAX),
                        description=fit_text(f"{summary}\n{period}", limits.TEXT_CARD_DESCRIPTION_CAROUSEL_MAX),
                        buttons=buttons)
    return reply(SimpleText(fit_text(_t("intro"), limits.SIMPLE_TEXT_MAX)), Carousel([card]))
