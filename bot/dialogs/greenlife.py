"""Green-life practice points (skill `greenlife`): the items and amounts from the rules, the
member's activities this month and the awards of this year against the yearly cap (read from
core.statements.greenlife_year_view)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot import texts, ui
from bot.app import BotApp
from bot.kakao import limits
from bot.kakao.parts import Button, ImageTitle, Item, ItemListSummary
from bot.kakao.response import ItemCard, SimpleText, TextCard, fit_text
from core import members as M
from core.clock import today_kst


def _t(key: str, **fmt) -> str:
    return texts.t(f"greenlife.{key}", **fmt)


def _won(value) -> str:
    return f"{int(value):,}"


def _qty(value: str) -> str:
    d = Decimal(value)
    return f"{int(d):,}" if d == d.to_integral_value() else f"{d.normalize():f}"


def intro_text() -> str:
    from core.rules import default_rules

    gl = default_rules().greenlife
    items = "\n".join(_t("item", name=i.name, won=_won(i.won_per_unit), unit=i.unit)
                      for i in gl.items.values() if i.enabled and i.accrued and i.won_per_unit)
    return _t("intro", items=items, cap=_won(gl.cap_won), bonus=_won(gl.bonus_won),
              confirm_day=gl.confirm_day, pay_from_day=gl.pay_from_day)


def year_card(view: dict, today: date) -> ItemCard:
    from core.rules import default_rules

    gl = default_rules().greenlife
    rows = [(_t("received"), texts.t("units.won", amount=_won(view["awarded"]))),
            (_t("remaining"), texts.t("units.won", amount=_won(view["remaining"]))),
            (_t("bonus"), _t("bonus_yes") if view.get("bonus_received") else _t("bonus_no", bonus=_won(gl.bonus_won)))]
    this = view.get("this_month")
    if this is not None:
        if not this["items"]:
            value = _t("this_month_none")
        elif this.get("confirmed"):
            value = _t("this_month_confirmed", won=_won(this["accrued_won"]))
        else:
            value = _t("this_month_value", won=_won(this["accrued_won"]), confirm_day=gl.confirm_day)
        rows.append((_t("this_month"), value))
    for m in reversed(view.get("months") or []):
        if len(rows) >= limits.ITEM_CARD_ITEMS_MAX:
            break
        pay = date.fromisoformat(m["pay_from_date"])
        value = (_t("month_row_cut", won=_won(m["won"]), cut=_won(m["cut_won"])) if m.get("cut_won")
                 else _t("month_row", won=_won(m["won"]), pay=f"{pay.month}/{pay.day}"))
        rows.append((texts.t("units.month", month=int(m['month'][5:7])), value))
    return ItemCard(
        item_list=[Item(title[: limits.ITEM_TITLE_MAX], fit_text(desc, 40)) for title, desc in rows],
        image_title=ImageTitle(_t("year_title", year=view["year"]), _t("year_description", cap=_won(view["cap"]))),
        item_list_alignment="right",
        item_list_summary=ItemListSummary(_t("summary_title"), texts.t("units.won", amount=_won(view['awarded']))),
    )


def activities_text(view: dict) -> str | None:
    from core.rules import default_rules

    this = view.get("this_month")
    if not this or not this["items"]:
        return None
    items = default_rules().greenlife.items
    parts = [_t("activity", name=i["name"], quantity=_qty(i["quantity"]),
                unit=items[i["item"]].unit if i["item"] in items else "", won=_won(i["won"])) for i in this["items"]]
    return _t("activities", list=", ".join(parts))


def greenlife_skill(ctx) -> dict:
    from core import statements

    member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    intro = SimpleText(fit_text(intro_text(), limits.SIMPLE_TEXT_MAX))
    faq_qr = ui.qr(ctx, _t("faq_label"), "help", {"faq": "greenlife_not_accruing"},
                   texts.t("faq.greenlife_not_accruing.question"))
    if member is None:
        card = TextCard(description=_t("not_member"),
                        buttons=[Button.web_link(_t("website_label"), _t("website_url"))])
        return ui.reply([intro, card], [ui.qr(ctx, _t("signup_label"), "signup"), faq_qr, ui.home_quick_reply(ctx)])
    today = today_kst(ctx.clock)
    view = statements.greenlife_year_view(ctx.session, member.id, today.year, today)
    outputs = [intro, year_card(view, today)]
    notes = [n for n in (activities_text(view),
                         _t("cap_reached", cap=_won(view["cap"])) if view["remaining"] == 0 else None) if n]
    if notes:
        outputs.append(SimpleText(fit_text("\n".join(notes), limits.SIMPLE_TEXT_MAX)))
    return ui.reply(outputs, [faq_qr, ui.qr(ctx, _t("balance_label"), "balance"), ui.home_quick_reply(ctx)])


def register(app: BotApp) -> None:
    app.skill("greenlife")(greenlife_skill)
