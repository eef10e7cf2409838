"""Points and payout (skill `balance`), read from the points engine's read API (core.statements).

A member sees three bubbles: the current half so far (provisional, per resource: use against
the baseline over the months with data, rate, provisional band and points), the last settled
half (points, won at the local rate, payout month, status, the reason of a held payment, and what
each resource's reason code means), and green-life points this year against the cap.
Nothing provisional is shown without saying so.
"""
from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from bot import texts, ui
from bot.app import BotApp
from bot.coach import coach_text
from bot.dialogs import answers
from bot.kakao import limits
from bot.kakao.parts import Button, ImageTitle, Item, ItemListSummary, ItemThumbnail, QuickReply
from bot.kakao.response import Component, ItemCard, SimpleText, TextCard, fit_text
from core import complexes
from core import members as M
from core.clock import kst_date, today_kst
from core.models import Member
from core.payouts import hold_reason
from core.points.periods import Half
from core.rules import default_rules

# A managed-fee resource without the provider's unit key has no readings: the engine reports it
# as not used (current half) or without baseline (settled half).
UNLINKED = ("RESOURCE_NOT_USED", "NO_BASELINE")
# Payout holds a member can fix in chat before the settlement (the account flow of my info).
UPCOMING_HOLDS = ("HOLD_NO_ACCOUNT", "HOLD_HOLDER_MISMATCH")
NOT_EVALUATED_SHORT = ("NOT_REGISTERED_FOR_HALF", "RESOURCE_NOT_USED", "NO_BASELINE", "ZERO_BASELINE",
                       "EXCLUDED_TARIFF")


def _t(key: str, **fmt) -> str:
    return texts.t(f"balance.{key}", **fmt)


def half_label(half: str | Half) -> str:
    return _half_label(str(half), texts.current())


@lru_cache(maxsize=256)
def _half_label(half: str, lang: str) -> str:
    h = Half.parse(half)
    return texts.t("balance.half_name", lang=lang, year=h.year, half=texts.t(f"balance.half_{h.number}", lang=lang))


def _won(value: int) -> str:
    return f"{int(value):,}"


def _num(value: str | None) -> str:
    """'1320' -> '1,320'; '1320.5' -> '1,320.5' (display only)."""
    if value is None:
        return "-"
    try:
        d = Decimal(value)
    except InvalidOperation:
        return str(value)
    if d == d.to_integral_value():
        return f"{int(d):,}"
    whole, _, frac = f"{d:f}".partition(".")
    return f"{int(whole):,}.{frac[:2]}"


def months_text(months: list[str]) -> str:
    """['2026-07', '2026-08', '2026-09'] -> '7~9월'; ['2026-05'] -> '5월'; gaps -> '5·7월'."""
    nums = [int(m[-2:]) for m in months]
    if not nums:
        return ""
    if len(nums) == 1:
        return _t("months_one", month=nums[0])
    if nums == list(range(nums[0], nums[0] + len(nums))):
        return _t("months_range", first=nums[0], last=nums[-1])
    return _t("months_list", months="·".join(str(n) for n in nums))


def resource_name(resource: str) -> str:
    return _t(f"resource.{resource}")


def reason_text(code: str, resource: str, params: dict | None) -> str:
    params = params or {}
    months = params.get("months") or []
    return _t(f"reasons.{code}", resource=resource_name(resource), months=months_text(list(months)),
              rate=params.get("rate", ""))


def _short_reason(code: str, params: dict | None) -> str:
    params = params or {}
    return _t(f"short.{code}", months=months_text(list(params.get("months") or [])), rate=params.get("rate", ""))


# --- the current half (provisional) -------------------------------------------------------------

def _gaps(item: dict) -> list[str]:
    """Missing months before the latest month with data: real gaps, not 'not read yet'."""
    have = item.get("months_with_data") or []
    if not have:
        return []
    last = max(have)
    return [m for m in item.get("missing_months") or [] if m < last]


def managed_fee_resources(member: Member) -> set[str]:
    """Resources billed in the management fee: without the provider's unit key they show as
    'not used' in the engine's views; say what they are instead."""
    return {a.resource for a in M.active_accounts(member) if a.billing_mode == "managed_fee"}


def chart_thumbnail(ctx, member_id: int) -> ItemThumbnail | None:
    """The member's usage chart (12 months against the baseline, 800x400) as the card's image;
    the URL is an expiring opaque token (core.charts). No chart is better than no answer."""
    link = ctx.services.chart_link
    if link is None:  # charts are off
        return None
    try:
        from core.charts import SIZE_PX

        return ItemThumbnail(link(member_id), width=SIZE_PX[0], height=SIZE_PX[1])
    except Exception:  # pragma: no cover - charts are optional decoration
        ctx.log.warning("usage chart unavailable", exc_info=True)
        return None


def current_card(view: dict, managed: Collection[str] = frozenset(),
                 thumbnail: ItemThumbnail | None = None, waiting: Collection[str] = frozenset()) -> ItemCard:
    items: list[Item] = []
    months: set[str] = set()
    for r in view["resources"]:
        resource, reason = r["resource"], r.get("reason")
        months.update(r.get("months_with_data") or [])
        if resource in waiting:
            desc = _t("short.complex_no_data")
        elif reason in UNLINKED and resource in managed:
            desc = _t("short.managed_fee")
        elif reason in NOT_EVALUATED_SHORT:
            desc = _short_reason(reason, None)
        elif r.get("rate") is None:
            desc = _t("short.collecting")
        else:
            rate = Decimal(r["rate"])
            first = (_t("rate_line_provisional", rate=r["rate"], points=_won(r.get("provisional_points") or 0))
                     if rate >= 0 else _t("rate_line_up", rate=f"{-rate:.2f}"))
            gaps = _gaps(r)
            second = (_short_reason("ACTUAL_MONTH_MISSING", {"months": gaps}) if gaps else
                      _t("usage_line", actual=_num(r.get("usage")), baseline=_num(r.get("baseline")),
                         unit=_t(f"units.{resource}")))
            desc = f"{first}\n{second}"
        items.append(Item(resource_name(resource)[: limits.ITEM_TITLE_MAX], desc))
    if not items:
        items.append(Item(resource_name("electricity"), _t("short.collecting")))
    based = _t("current_based_on", months=months_text(sorted(months))) if months else _t("current_no_data")
    return ItemCard(
        item_list=items[: limits.ITEM_CARD_ITEMS_MAX],
        thumbnail=thumbnail,
        image_title=ImageTitle(_t("current_title", half=half_label(view["half"])), based),
        item_list_alignment="right",
        item_list_summary=ItemListSummary(_t("current_summary"), texts.t("units.won", amount=_won(view.get('won') or 0))),
        title=fit_text(_t("current_note"), 100),
    )


# --- the last settled half ---------------------------------------------------------------------

def settled_card(ctx, view: dict, managed: Collection[str] = frozenset(),
                 waiting: Collection[str] = frozenset()) -> ItemCard:
    items = []
    for r in view["resources"]:
        reason = r.get("reason")
        if r["resource"] in waiting and not r.get("evaluated"):
            desc = _t("short.complex_no_data")
        elif reason in UNLINKED and r["resource"] in managed:
            desc = _t("short.managed_fee")
        elif not r.get("evaluated") and reason:
            desc = _short_reason(reason, r.get("reason_params"))
        elif reason in ("BELOW_THRESHOLD", "NO_REDUCTION"):
            desc = _short_reason(reason, r.get("reason_params"))
        else:
            desc = _t("rate_line", rate=r.get("rate") or "0.00", points=_won(r.get("points") or 0))
        items.append(Item(resource_name(r["resource"])[: limits.ITEM_TITLE_MAX], desc))
    if not items:
        items.append(Item(resource_name("electricity"), "-"))
    status = settled_status(view)
    payout_month = view.get("payout_month") or ""
    when = (_t("settled_payout_month", year=int(payout_month[:4]), month=int(payout_month[5:7]))
            if payout_month else "")
    lg = (view.get("local_government") or {}).get("name")
    rate = _num(view.get("rate"))
    rate_text = _t("settled_rate", lg=lg, rate=rate) if lg else _t("settled_rate_default", rate=rate)
    if figures_are_default(view):  # rate and payout month not set by the 시군구 yet
        marker = texts.t("common.default_marker")
        rate_text = f"{rate_text} {marker}"
        when = f"{when} {marker}" if when else when
    description = f"{_t(f'status.{status}')} · {when}\n{_t('summary_points', points=_won(view.get('points') or 0))} · {rate_text}"
    return ItemCard(
        item_list=items[: limits.ITEM_CARD_ITEMS_MAX],
        image_title=ImageTitle(_t("settled_title", half=half_label(view["half"])), fit_text(when or "-", 30)),
        item_list_alignment="right",
        item_list_summary=ItemListSummary(_t(f"status.{status}")[:limits.ITEM_SUMMARY_TITLE_MAX],
                                          texts.t("units.won", amount=_won(view.get('won') or 0))),
        title=fit_text(half_label(view["half"]), 50),
        description=fit_text(description, 140),
    )


def settled_status(view: dict) -> str:
    """The payout status of a settled half as the card says it (balance.status)."""
    status = view.get("status") or "expected"
    if status == "expected" and not (view.get("won") or 0):
        return "none"  # nothing to pay: "지급 예정 0원" would promise something
    return status


def figures_are_default(view: dict) -> bool:
    """The view's rate and payout month are the documented defaults: the 시군구 has not set its
    own yet (or the member's 시군구 is not known)."""
    lg = view.get("local_government")
    return lg is None or bool(lg.get("figures_default"))


def held_for(view: dict) -> str | None:
    """Why a settled half's payment is held (its statement's reason, or its payout line's)."""
    return view.get("hold_reason") or (view.get("payout") or {}).get("hold_reason")


def hold_note(ctx, view: dict, member: Member | None) -> str | None:
    """Why a settled half's payment is held or was not paid, and what to do; None when it is not."""
    hold = held_for(view)
    if view.get("status") not in ("held", "skipped") and not hold:
        return None
    key = hold if hold in texts.raw("balance.hold") else ("SKIPPED_MISMATCH" if view.get("status") == "skipped" else "other")
    if view.get("status") == "held" and str(key).startswith("HOLD_") and member is not None and not hold_reason(
            member.incentive_type, member.name, member.address, member.local_government_code,
            member.account_number_enc, member.account_holder):
        key = "resolved"  # fixed in my info since: paid in the next round (core.payouts.release_held)
    return _t(f"hold.{key}", call_centre=ctx.settings.call_centre)


def settled_notes(ctx, view: dict, member: Member | None, waiting: Collection[str] = frozenset(), *,
                  managed: Collection[str] | None = None, incentive_type: str | None = None) -> list[str]:
    notes = []
    if figures_are_default(view):
        notes.append(_t("default_note", marker=texts.t("common.default_marker")))
    held = hold_note(ctx, view, member)
    if held:
        notes.append(held)
    if managed is None:
        managed = managed_fee_resources(member) if member is not None else set()
    if incentive_type is None and member is not None:
        incentive_type = member.incentive_type
    for r in view["resources"]:
        if r["resource"] in waiting and not r.get("evaluated"):
            continue  # said once for the card (complex_no_data_notes)
        if r.get("reason") in UNLINKED and r["resource"] in managed:
            notes.append(_t("reasons.MANAGED_FEE", resource=resource_name(r["resource"])))
        elif r.get("reason") and r["reason"] in texts.raw("balance.reasons"):
            notes.append(reason_text(r["reason"], r["resource"], r.get("reason_params")))
    if incentive_type == "donation" and (view.get("won") or 0) > 0:
        notes.append(_t("donation_note"))
    return notes


def last_half_reasons_text(ctx) -> str | None:
    """The member's own reasons of the last settled half (used by the FAQ 'why zero points')."""
    from core import statements

    member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    if member is None:
        return None
    half = statements.last_settled_half(ctx.session, member.id)
    if not half:
        return None
    view = statements.statement_view(ctx.session, member.id, half)
    if view is None:
        return None
    notes = settled_notes(ctx, view, member)
    if not notes:
        return None
    return texts.t("faq.your_reasons", half=half_label(half)) + "\n" + "\n".join(f"• {n}" for n in notes)


# --- green-life line ----------------------------------------------------------------------------------

def greenlife_line(view: dict | None) -> str:
    if view is None:
        return _t("greenlife_not_joined")
    if not view.get("awarded") and not view.get("months"):
        return _t("greenlife_none", year=view["year"], cap=_won(view["cap"]))
    return _t("greenlife_line", year=view["year"], awarded=_won(view["awarded"]), cap=_won(view["cap"]),
              remaining=_won(view["remaining"]))


def greenlife_view(ctx, today) -> dict | None:
    """This year's green-life view of the user's green-life membership, or None without one."""
    from core import greenlife_members as G
    from core import statements

    membership = G.membership_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    if membership is None:
        return None
    return statements.greenlife_year_view(ctx.session, membership.id, today.year, today)


def greenlife_only_balance(ctx, view: dict) -> dict:
    """A green-life member without an energy membership (e.g. in Seoul): their green-life year."""
    from bot.dialogs import greenlife

    outputs: list[Component] = [greenlife.year_card(view, today_kst(ctx.clock))]
    notes = [greenlife_line(view), _t("greenlife_only")]
    activities = greenlife.activities_text(view)
    if activities:
        notes.insert(1, activities)
    outputs.append(SimpleText(fit_text("\n".join(notes), limits.SIMPLE_TEXT_MAX)))
    return ui.reply(outputs, [ui.qr(ctx, _t("greenlife_label"), "greenlife"), ui.home_quick_reply(ctx)])


def upcoming_hold(member: Member) -> str | None:
    """What would hold the member's next payout that they can fix in chat (UPCOMING_HOLDS), or None."""
    hold = hold_reason(member.incentive_type, member.name, member.address, member.local_government_code,
                       member.account_number_enc, member.account_holder)
    return hold if hold in UPCOMING_HOLDS else None


def hold_fix(ctx, hold: str) -> tuple[str, QuickReply]:
    """The line saying the next payout would be held and why, and the quick reply to the
    account change that fixes it."""
    return (_t(f"upcoming_hold.{hold}"),
            ui.qr(ctx, _t(f"upcoming_hold.label_{hold}"), "myinfo", {"dialog": "myinfo", "action": "open", "flow": "account"}))


def first_half_of(member: Member | None, today, joined_at=None) -> Half:
    """The first half the member's resources are evaluated for (E7: registered on its first day)."""
    joined_at = joined_at if member is None else member.joined_at
    joined = kst_date(joined_at) if joined_at else today
    half = Half.of_date(joined)
    return half if joined == half.start else half.next()


# --- the skill -------------------------------------------------------------------------------------

def _ask_pending(ctx, app: BotApp, member) -> dict | None:
    """My info's question the member must answer first (their 구 after a split, a number's
    company after a move), or None."""
    from bot.dialogs.myinfo import MyInfoDialog

    dialog = app.dialogs.get("myinfo")
    return dialog.ask_pending(ctx, member) if isinstance(dialog, MyInfoDialog) else None


def wanted_half(ctx, today) -> tuple[Half | None, bool]:
    """The past half a request names (a button's `half`, or typed: "작년 상반기 포인트"), and
    whether it asks for every settled half ("포인트 내역"). A half not yet ended is no past half."""
    extra = ctx.turn.client_extra or {}
    if "half" in extra or "history" in extra:
        try:
            half = Half.parse(str(extra["half"])) if "half" in extra else None
        except ValueError:
            half = None
        history = bool(extra.get("history"))
    else:
        half, history = answers.typed_half(ctx.turn.utterance, today), answers.asks_history(ctx.turn.utterance)
    return (half if half is not None and half < Half.of_date(today) else None), history


HISTORY_MAX = 10  # halves listed (five years)


def past_halves(ctx, member: Member, half: Half | None) -> dict:
    """One settled half of the member (resources, reasons, payout), or the list of all of them
    with points, won and status; each half a button that shows it."""
    from core import statements

    halves = statements.settled_halves(ctx.session, member.id)
    if half is not None and str(half) in halves:
        view = statements.statement_view(ctx.session, member.id, str(half))
        if view is not None:
            managed = managed_fee_resources(member)
            outputs: list[Component] = [settled_card(ctx, view, managed)]
            notes = settled_notes(ctx, view, member, managed=managed)
            if notes:
                outputs.append(SimpleText(fit_text("\n".join(notes), limits.SIMPLE_TEXT_MAX)))
            return ui.reply(outputs, _half_buttons(ctx, [h for h in halves if h != str(half)]))
    lines = [_t("half_not_settled", half=half_label(half))] if half is not None else []
    if halves:
        lines.append(_t("history_title"))
        for h in halves[:HISTORY_MAX]:
            view = statements.statement_view(ctx.session, member.id, h) or {}
            lines.append(_t("history_line", half=half_label(h), points=_won(view.get("points") or 0),
                            won=_won(view.get("won") or 0), status=_t(f"status.{settled_status(view)}")))
        lines.append(_t("history_pick"))
    else:
        lines.append(_t("history_none"))
    return ui.reply([SimpleText(fit_text("\n".join(lines), limits.SIMPLE_TEXT_MAX))], _half_buttons(ctx, halves))


def _half_button(half: str) -> str:
    h = Half.parse(half)
    return _t("half_button", year=h.year, half=_t(f"half_short_{h.number}"))


def _half_buttons(ctx, halves: list[str]) -> list[QuickReply]:
    """A button per half (newest first, as many as fit), then this half's and the home button."""
    room = limits.QUICK_REPLIES_MAX - 2
    return [*(ui.qr(ctx, _half_button(h), "balance", {"intent": "balance", "half": h}) for h in halves[:room]),
            ui.qr(ctx, _t("current_label"), "balance", {"intent": "balance"}), ui.home_quick_reply(ctx)]


def balance_skill(ctx, app: BotApp | None = None) -> dict:
    from core import progress, statements

    today = today_kst(ctx.clock)
    past, history = wanted_half(ctx, today)
    if past is not None or history:  # "작년 상반기 포인트", "포인트 내역": the settled halves
        asker = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if asker is not None:
            return past_halves(ctx, asker, past)
    # The fast path: the figures prepared in bulk (core.progress), one driver read by botUserKey;
    # the settled half and green-life views are prepared with them (core.prepared_extras). A row
    # prepared without them (an older release) has them read once and kept.
    fast = progress.read_fast(ctx.tx, ctx.services.db.is_postgres, ctx.turn.user_key, today)
    if fast is not None and fast.view.get("lg_open") and app is not None:
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        asked = _ask_pending(ctx, app, member) if member is not None else None
        if asked is not None:
            return asked
    if fast is not None:
        current = fast.view
        managed: Collection[str] = set(current.get("managed") or ())
        extras = current.get(progress.EXTRAS)
        if extras is None or "halves" not in extras:  # not prepared, or by a release without the count
            halves = statements.settled_halves(ctx.session, fast.member_id)
            last = halves[0] if halves else None
            extras = {"last": last,
                      "settled": statements.statement_view(ctx.session, fast.member_id, last) if last else None,
                      "greenlife": greenlife_view(ctx, today), "halves": len(halves)}
            progress.store_extras(ctx.conn, fast.member_id, current, extras)
        return _balance_reply(ctx, fast.member_id, today, current, managed, extras["last"], extras["settled"],
                              extras["greenlife"], fast.incentive_type, fast.joined_at, hold=fast.hold,
                              halves=extras["halves"])

    member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    if member is None and (left := M.left_member_for_user(ctx.session, ctx.turn.user_key)) is not None:
        return left_balance(ctx, left)
    if member is None and (green_only := greenlife_view(ctx, today_kst(ctx.clock))) is not None:
        return greenlife_only_balance(ctx, green_only)
    if member is None:
        return ui.text(ctx, _t("not_member"), [ui.qr(ctx, _t("signup_label"), "signup"),
                                               ui.qr(ctx, texts.t("faq.how_points_work.question"), "help",
                                                     {"faq": "how_points_work"}),
                                               ui.home_quick_reply(ctx)])
    # The 구 of an address under a split 구, or a number a move kept in a region several
    # companies supply: asked first (both leave nothing prepared, so the fast path above does
    # not pass here by).
    if app is not None and (M.companies_to_ask(member) or not member.local_government_code):
        asked = _ask_pending(ctx, app, member)
        if asked is not None:
            return asked
    # Prepared in bulk when readings were imported or results run (one primary-key read);
    # computed live only when nothing true for today was prepared.
    current = progress.read_prepared(ctx.session, member, today) or statements.current_half_view(
        ctx.session, member.id, today)
    halves = statements.settled_halves(ctx.session, member.id)
    last = halves[0] if halves else None
    settled = statements.statement_view(ctx.session, member.id, last) if last else None
    green = greenlife_view(ctx, today)
    return _balance_reply(ctx, member.id, today, current, managed_fee_resources(member), last, settled, green,
                          member.incentive_type, member.joined_at, member,
                          hold=upcoming_hold(member), halves=len(halves))


def _balance_reply(ctx, member_id: int, today, current: dict, managed: Collection[str], last: str | None,
                   settled: dict | None, green: dict | None, incentive_type: str, joined_at,
                   member: Member | None = None, hold: str | None = None, halves: int = 0) -> dict:
    """``hold``: why the member's next payout would be held as things stand (HOLD_*), if it would;
    ``halves``: how many halves are settled (from two on, a button lists them)."""
    # Managed resources of a complex unit whose management office has sent no reading yet.
    waiting: set[str] = set()
    if managed:
        member = member or ctx.session.get(Member, member_id)
        waiting = complexes.managed_without_readings(ctx.session, member) if member is not None else set()
    outputs: list[Component] = [current_card(current, managed, chart_thumbnail(ctx, member_id), waiting)]
    lines = [_t("reasons.COMPLEX_NO_DATA", resource=resource_name(r)) for r in default_rules().resources if r in waiting]
    coach = coach_text(current.get("projection"), current.get("comparison"))
    if coach:
        lines.append(coach + "\n")
    if settled is not None:
        outputs.append(settled_card(ctx, settled, managed, waiting))
        if settled.get("status") == "held" and member is None:  # rare: whether the member fixed it since
            member = ctx.session.get(Member, member_id)
        lines.extend(settled_notes(ctx, settled, member, waiting, managed=managed, incentive_type=incentive_type))
    else:
        first = first_half_of(None, today, joined_at)
        if first.end >= today:
            lines.append(_t("none_settled", half=half_label(first)))
        else:
            # an ended half waits for its settlement, not for its end: the latest one the member
            # was evaluated for (a member of several years awaits the last half, not their first)
            latest = Half.of_date(today).previous()
            awaited = latest if latest.first_month > first.first_month else first
            lines.append(_t("none_settled_ended", half=half_label(awaited)))
    # Said before the settlement, while it can still be fixed; once held, hold_note says it.
    warn = hold in UPCOMING_HOLDS and not (settled is not None and settled.get("status") == "held"
                                           and held_for(settled) == hold)
    fix = hold_fix(ctx, hold) if warn and hold else None
    if fix is not None:
        lines.append(fix[0])
    lines.append(greenlife_line(green))
    outputs.append(SimpleText(fit_text("\n".join(lines), limits.SIMPLE_TEXT_MAX)))

    qrs = [fix[1]] if fix is not None else []
    if settled is not None and not (settled.get("points") or 0):
        qrs.append(ui.qr(ctx, _t("why_label"), "help", {"faq": "why_zero_points"},
                         texts.t("faq.why_zero_points.question")))
    if halves >= 2:
        qrs.append(ui.qr(ctx, _t("history_label"), "balance", {"intent": "balance", "history": True}))
    qrs += [ui.qr(ctx, _t("greenlife_label"), "greenlife"), ui.qr(ctx, _t("myinfo_label"), "myinfo"),
            ui.home_quick_reply(ctx)]
    ctx.log.debug("balance shown", extra={"member_id": member_id, "settled": last})
    return ui.reply(outputs, qrs)


def left_balance(ctx, member: Member) -> dict:
    """A member who left for Seoul: their statements are kept, so the last settled half (paid by
    the old 시군구) is still shown, with Eco-mileage for what comes next."""
    from core import statements

    last = statements.last_settled_half(ctx.session, member.id)
    settled = statements.statement_view(ctx.session, member.id, last) if last else None
    outputs: list[Component] = []
    lines = [_t("left")]
    if settled is not None:
        outputs.append(settled_card(ctx, settled, set()))
        lines.extend(settled_notes(ctx, settled, member))
    outputs.append(TextCard(description=fit_text("\n".join(lines), limits.TEXT_CARD_DESCRIPTION_MAX),
                            buttons=[Button.web_link(texts.t("signup.address.seoul_link_label"),
                                                     texts.t("signup.address.seoul_url"))]))
    return ui.reply(outputs, [ui.home_quick_reply(ctx)])


def register(app: BotApp) -> None:
    app.skill("balance")(lambda ctx: balance_skill(ctx, app))
