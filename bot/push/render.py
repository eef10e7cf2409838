"""What a push says.

Two parts (protocol doc §5, "Per-user content"): one Event API call carries one `event.data` for
all its users, so

- `event_data(kind, period, lang)` is what a batch shares: the kind, the period and a ready
  `text` in the chat language of the batch's users (Korean by default: "10월 사용량 결과가
  나왔어요 ..."). Campaign texts are advertising and carry the label.
- `notice_reply(ctx, member, notification)` is what each member sees of their own figures, through
  the `notice` skill connected to the event blocks (and the '결과 보기' quick reply).

Notification payloads this module reads (missing keys are left out, never guessed):

    monthly_result  {"month": "2026-10", "half": "2026H2",
                     "resources": [{"resource": "electricity", "usage": "290", "baseline": "310",
                                    "rate": "6.45"} | {"resource": "gas", "missing": true}],
                     "half_to_date": {"rate": "3.20", "points": 5000, "won": 10000},
                     "missing_months": ["2026-09"]}
    payout_notice   {"half": "2026H1", "points": 5000, "won": 10000, "payout_month": 202612,
                     "status": "expected" | "held", "hold_reason": "HOLD_NO_ACCOUNT" | null,
                     "released": true (a held payment paid in a later round, core.payouts.release_held)}
    payout_reminder {"half": "2026H1", "won": 10000, "payout_month": 202612, "hold_reason": "..."}
    campaign        {"broadcast_id": 17, "campaign_id": "cmp-2025-summer-cooling"}
    greenlife_digest {"month": "2026-03", "won": 15000, "accrued_won": 10000, "bonus_won": 5000,
                     "cut_won": 0, "items": {"e_receipt": 2000, ...}, "pay_from_date": "2026-04-23"}
"""
from __future__ import annotations

import logging
import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from bot import texts, ui
from bot.coach import coach_text
from bot.kakao import limits
from bot.kakao.response import (
    Component,
    ImageTitle,
    Item,
    ItemCard,
    ItemListSummary,
    LimitError,
    SimpleText,
    fit_text,
)
from core.db import Database
from core.models.push import CampaignBroadcast

log = logging.getLogger("cpoint.push")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_HALF = re.compile(r"^(\d{4})H([12])$")
_BROADCAST = re.compile(r"^b(\d+)$")


def month_parts(period: str) -> tuple[int, int]:
    m = _MONTH.match(period or "")
    if not m:
        raise ValueError(f"not a month period: {period!r}")
    return int(m.group(1)), int(m.group(2))


def half_parts(period: str) -> tuple[int, str]:
    m = _HALF.match(period or "")
    if not m:
        raise ValueError(f"not a half period: {period!r}")
    return int(m.group(1)), texts.t(f"push.half.{m.group(2)}")


def ad_text(message: str, *, operator: str, contact: str) -> str:
    """An advertising message: '(광고)' first, the sender, the message, the free opt-out."""
    text = texts.t("push.campaign", operator=operator, contact=contact, message=message.strip())
    if len(text) > limits.SIMPLE_TEXT_MAX:
        raise ValueError(f"campaign text of {len(text)} characters does not fit one bubble")
    return text


def broadcast_message(session, period: str) -> str:
    m = _BROADCAST.match(period or "")
    if not m:
        raise ValueError(f"not a broadcast period: {period!r}")
    message = session.scalar(select(CampaignBroadcast.message).where(CampaignBroadcast.id == int(m.group(1))))
    if message is None:
        raise ValueError(f"no broadcast {period}")
    return message


def event_text(kind: str, period: str, *, operator: str, contact: str, session=None) -> str:
    if kind == "monthly_result":
        _year, month = month_parts(period)
        return texts.t("push.monthly_result", month=month)
    if kind in ("payout_notice", "payout_reminder"):
        year, half = half_parts(period)
        return texts.t(f"push.{kind}", year=year, half=half)
    if kind == "campaign":
        return ad_text(broadcast_message(session, period), operator=operator, contact=contact)
    if kind == "reminder":  # a reminder topic members may turn off (core.outbox.TOPIC_KINDS)
        return texts.t("push.reminder")
    if kind == "greenlife_digest":
        _year, month = month_parts(period)
        return texts.t("push.greenlife_digest", month=month)
    raise ValueError(f"unknown notification kind {kind!r}")


class EventData:
    """`event.data` per (kind, period, language), cached for the life of a sender. A batch's
    users share one chat language (core.outbox.claim_batch), so its text is in theirs."""

    def __init__(self, db: Database, *, operator: str, contact: str) -> None:
        self.db, self.operator, self.contact = db, operator, contact
        self._cache: dict[tuple[str, str, str | None], dict] = {}

    def __call__(self, kind: str, period: str, lang: str | None = None) -> dict:
        key = (kind, period, lang)
        if key not in self._cache:
            with self.db.session() as s, texts.using(lang):
                text = event_text(kind, period, operator=self.operator, contact=self.contact, session=s)
            self._cache[key] = {"kind": kind, "period": period, "text": text}
        return self._cache[key]


# -- the notice skill -------------------------------------------------------------------------

def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def fmt_amount(value: Any) -> str | None:
    """1234.5 -> '1,234.5'; 1200 -> '1,200'."""
    d = _dec(value)
    if d is None:
        return None
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d.normalize():,f}"


def fmt_rate(value: Any) -> str | None:
    """Percent truncated to two decimals, without sign (the words say up or down)."""
    d = _dec(value)
    if d is None:
        return None
    return str(abs(d).quantize(Decimal("0.01"), rounding=ROUND_DOWN))


def fmt_won(value: Any) -> str | None:
    d = _dec(value)
    return texts.t("units.won", amount=f"{int(d):,}") if d is not None else None


def _rate_words(rate: Any) -> str | None:
    d = _dec(rate)
    if d is None:
        return None
    if fmt_rate(d) == "0.00":  # shown truncated: 0.004% is no change
        return texts.t("notice.monthly.same")
    return texts.t("notice.monthly.reduced" if d > 0 else "notice.monthly.increased", rate=fmt_rate(d))


def _points_words(points: Any) -> str | None:
    d = _dec(points)
    return texts.t("notice.monthly.provisional", points=fmt_amount(d)) if d is not None and d > 0 else None


def _month_label(value: Any) -> str | None:
    try:
        return texts.t("units.month", month=month_parts(str(value))[1])
    except ValueError:
        return None


def _base_quick_replies(ctx, *, myinfo: bool = False) -> list:
    out = [ui.qr(ctx, texts.t("notice.balance_label"), "balance")]
    if myinfo:
        out.append(ui.qr(ctx, texts.t("notice.myinfo_label"), "myinfo"))
    out.append(ui.home_quick_reply(ctx))
    return out


def render_monthly(ctx, payload: dict, period: str, more: tuple[str, Any] | None = None) -> dict:
    """``more``: a line and its quick reply the chat adds for this member (what would hold
    their payout, while it can be fixed)."""
    month_key = payload.get("month") or period
    year, month = month_parts(str(month_key))
    half = payload.get("half") or f"{year}H{1 if month <= 6 else 2}"
    hyear, hname = half_parts(str(half))
    items = []
    for line in payload.get("resources") or []:
        if not isinstance(line, dict) or line.get("resource") not in ("electricity", "water", "gas"):
            continue
        res = line["resource"]
        name, unit = texts.t(f"notice.resources.{res}"), texts.t(f"notice.units.{res}")
        if line.get("missing") or fmt_amount(line.get("usage")) is None:
            items.append(Item(name, texts.t("notice.monthly.missing", month=month)))
            continue
        usage, baseline = fmt_amount(line.get("usage")), fmt_amount(line.get("baseline"))
        first = (texts.t("notice.monthly.usage", usage=usage, baseline=baseline, unit=unit) if baseline
                 else texts.t("notice.monthly.usage_no_baseline", usage=usage, unit=unit))
        second = " · ".join(x for x in (_rate_words(line.get("rate")), _points_words(line.get("provisional_points"))) if x)
        items.append(Item(name, f"{first}\n{second}" if second else first))
    outputs: list[Component] = []
    raw_htd = payload.get("half_to_date")
    htd: dict[str, Any] = raw_htd if isinstance(raw_htd, dict) else {}
    won = fmt_won(htd.get("won"))
    if items:
        outputs.append(ItemCard(
            item_list=items[:limits.ITEM_CARD_ITEMS_MAX],
            image_title=ImageTitle(texts.t("notice.monthly.title", month=month),
                                   texts.t("notice.monthly.subtitle", year=hyear, half=hname)),
            item_list_alignment="right",
            item_list_summary=ItemListSummary(texts.t("notice.monthly.summary_title"), won) if won else None,
        ))
    rate, signed = fmt_rate(htd.get("rate")), _dec(htd.get("rate"))
    if rate is None or signed is None:
        note = texts.t("notice.monthly.note_no_rate")
    elif rate == "0.00":
        note = texts.t("notice.monthly.note_same")
    else:
        note = texts.t("notice.monthly.note" if signed >= 0 else "notice.monthly.note_up", rate=rate)
    missing = [m for m in (_month_label(x) for x in payload.get("missing_months") or []) if m]
    if missing:
        note += "\n" + texts.t("notice.monthly.missing_months", months=", ".join(missing))
    projection = payload.get("projection")
    coach = coach_text(projection if isinstance(projection, dict) else None,
                       payload.get("comparison") if isinstance(payload.get("comparison"), list) else None)
    if coach:
        note = coach + "\n\n" + note
    if not outputs:
        outputs.append(SimpleText(fit_text(texts.t("push.monthly_result", month=month), limits.SIMPLE_TEXT_MAX)))
    quick_replies = _base_quick_replies(ctx)
    if more is not None:
        note += "\n\n" + more[0]
        quick_replies.insert(0, more[1])
    outputs.append(SimpleText(fit_text(note, limits.SIMPLE_TEXT_MAX)))
    return ui.reply(outputs, quick_replies)


def _hold_text(reason: Any) -> str | None:
    if not isinstance(reason, str):
        return None
    try:
        return texts.t(f"notice.hold.{reason}")
    except KeyError:
        return None


def render_payout(ctx, payload: dict, period: str) -> dict:
    year, hname = half_parts(str(payload.get("half") or period))
    items = []
    points = fmt_amount(payload.get("points"))
    if points is not None:
        items.append(Item(texts.t("notice.payout.points"), f"{points}P"))
    won = fmt_won(payload.get("won"))
    if won:
        items.append(Item(texts.t("notice.payout.won"), won))
    pm = payload.get("payout_month")
    if isinstance(pm, int) and 1 <= pm % 100 <= 12:
        items.append(Item(texts.t("notice.payout.month"),
                          texts.t("notice.payout.month_value", year=pm // 100, month=pm % 100)))
    outputs: list[Component] = []
    title = texts.t("notice.payout.title", year=year, half=hname)
    if items:
        outputs.append(ItemCard(item_list=items, image_title=ImageTitle(title), item_list_alignment="right",
                                item_list_summary=ItemListSummary(texts.t("notice.payout.summary_title"), won)
                                if won else None))
    else:
        outputs.append(SimpleText(title))
    hold = _hold_text(payload.get("hold_reason"))
    if hold:
        outputs.append(SimpleText(texts.t("notice.payout.held", reason=hold)))
    elif payload.get("released") and isinstance(pm, int) and 1 <= pm % 100 <= 12:
        outputs.append(SimpleText(texts.t("notice.payout.released", year=pm // 100, month=pm % 100)))
    outputs.append(SimpleText(texts.t("notice.payout.note", call_centre=ctx.settings.call_centre)))
    return ui.reply(outputs[:limits.OUTPUTS_MAX], _base_quick_replies(ctx, myinfo=bool(hold)))


def render_reminder(ctx, payload: dict, period: str) -> dict:
    year, hname = half_parts(str(payload.get("half") or period))
    hold = _hold_text(payload.get("hold_reason"))
    body = texts.t("notice.reminder.body", reason=hold) if hold else texts.t("notice.reminder.body_generic")
    return ui.reply([SimpleText(texts.t("notice.reminder.title", year=year, half=hname)), SimpleText(body)],
                    _base_quick_replies(ctx, myinfo=True))


def render_campaign(ctx, payload: dict, period: str) -> dict:
    message = broadcast_message(ctx.session, period)
    text = ad_text(message, operator=ctx.settings.operator_name, contact=ctx.settings.call_centre)
    return ui.reply([SimpleText(text)], [
        ui.qr(ctx, texts.t("notice.campaigns_label"), "campaigns"),
        # The opt-out is the campaigns skill's (it records the withdrawal of consent).
        ui.qr(ctx, texts.t("notice.opt_out_label"), "campaigns", {"action": "opt_out"}),
        ui.home_quick_reply(ctx),
    ])


def render_greenlife_digest(ctx, payload: dict, period: str) -> dict:
    """The quiet digest: the month's green-life accruals, folded into one message."""
    _year, month = month_parts(str(payload.get("month") or period))
    lines = [texts.t("notice.greenlife_digest.title", month=month)]
    won = fmt_won(payload.get("won"))
    if won is None:
        raise ValueError("a green-life digest without its won")
    lines.append(texts.t("notice.greenlife_digest.won", won=won))
    if (bonus := fmt_won(payload.get("bonus_won"))) and _dec(payload.get("bonus_won")):
        lines.append(texts.t("notice.greenlife_digest.bonus", bonus=bonus))
    if (cut := fmt_won(payload.get("cut_won"))) and _dec(payload.get("cut_won")):
        lines.append(texts.t("notice.greenlife_digest.cut", cut=cut))
    pay_from = str(payload.get("pay_from_date") or "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", pay_from):
        lines.append(texts.t("notice.greenlife_digest.pay_from", pay_month=int(pay_from[5:7]),
                             pay_day=int(pay_from[8:10])))
    return ui.reply([SimpleText(fit_text("\n".join(lines), limits.SIMPLE_TEXT_MAX))], _base_quick_replies(ctx))


RENDERERS = {
    "monthly_result": render_monthly,
    "payout_notice": render_payout,
    "payout_reminder": render_reminder,
    "campaign": render_campaign,
    "greenlife_digest": render_greenlife_digest,
}


def notice_reply(ctx, notification, more: tuple[str, Any] | None = None) -> dict:
    """The member's own notice; anything unreadable in the payload falls back to a polite
    generic text (the payload is written by other parts of the system). ``more``: see
    :func:`render_monthly` (monthly results only)."""
    render = RENDERERS.get(notification.kind)
    payload = notification.payload if isinstance(notification.payload, dict) else {}
    if render is not None:
        try:
            if render is render_monthly:
                return render_monthly(ctx, payload, notification.period, more)
            return render(ctx, payload, notification.period)
        except (ValueError, LimitError, KeyError, TypeError) as exc:
            ctx.log.warning("notice %s could not be rendered: %s", notification.id, type(exc).__name__)
    return ui.reply([SimpleText(texts.t("notice.generic"))], _base_quick_replies(ctx))
