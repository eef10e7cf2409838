"""Green-life practice points (skill `greenlife`): the items and amounts from the rules, the
member's activities this month and the awards of this year against the yearly cap (read from
core.statements.greenlife_year_view), and joining green-life, a membership of its own
(core.greenlife_members).

Flows (one dialog, `flow` slot; taps carry {"dialog": "greenlife", "action": "join" | "payout"}):
    join     age -> name -> mobile -> region -> payout -> [bank -> account_number -> account_holder]
             (a citizen alone, Seoul included; under 14 is refused politely)
    link     age -> (joined) -> payout ...   (an energy member who is not an `individual`;
             an `individual` is 14 or more by the rules and joins with the tap itself)
    payout   payout -> [bank -> account_number -> account_holder]
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs import answers
from bot.dialogs.signup import fields as F
from bot.dialogs.signup.dialog import MobileStep, NameStep
from bot.dialogs.signup.machine import ChoiceStep, Conv, Go, Invalid, Option, TextStep
from bot.kakao import limits
from bot.kakao.parts import Button, ImageTitle, Item, ItemListSummary
from bot.kakao.response import ItemCard, SimpleText, TextCard, fit_text
from core import greenlife_members as G
from core import members as M
from core.ages import SELF_CONSENT_AGE, stated_age
from core.clock import today_kst
from core.local_governments import (
    SEOUL,
    ParsedAddress,
    infer_sido,
    placement,
    respell_address,
    sido_of,
)
from core.pii import mask_name


def _t(key: str, **fmt) -> str:
    return texts.t(f"greenlife.{key}", **fmt)


def _won(value) -> str:
    return f"{int(value):,}"


def _qty(value: str) -> str:
    d = Decimal(value)
    return f"{int(d):,}" if d == d.to_integral_value() else f"{d.normalize():f}"


def seoul_welcome() -> bool:
    """Whether Seoul residents take part in green-life (rules E6, greenlife.excludes_seoul)."""
    from core.rules import default_rules

    return not default_rules().greenlife.excludes_seoul


def seoul_line() -> str:
    return _t("seoul_welcome" if seoul_welcome() else "seoul_excluded")


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


# --- the membership ----------------------------------------------------------------------------

def membership(ctx):
    return G.membership_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)


def payout_text(ctx, gm) -> str:
    if gm.payout_method == G.KAKAO_PAY_MONEY:
        return _t("join.payout_kakao")
    if gm.payout_method == G.ACCOUNT:
        return _t("join.payout_account_row", bank=F.bank_label(gm.bank_name or ""),
                  masked=G.masked_account(ctx.cipher, gm))
    return _t("join.payout_none")


def asks_to_join(text: str | None) -> bool:
    """Free text that asks to join green-life ("녹색생활 가입할래요", "실천포인트 신청"): a word
    of the programme and one of joining (answers.greenlife_join), not a question about it
    ("녹색생활 가입 어떻게 해요?"), not a denial, not said as done ("녹색생활 가입했는데")."""
    # most typed text names no programme word: looked for without spaces before any folding
    if not text or not answers.says_any("".join(text.split()).lower(), "greenlife_join.programme"):
        return False
    t = answers.squash(text)
    if not answers.says_any(t, "greenlife_join.programme"):
        return False
    joins = [w for w in answers.squashed_words("greenlife_join.join") if w in t]
    if not joins or answers.looks_like_question(text):
        return False
    if answers.says_any(t, "negation.words"):
        return False
    done = answers.squashed_words("greenlife_join.done")
    return not any(t[t.find(w) + len(w):].startswith(done) for w in joins)


def join_quick_reply(ctx):
    """The one tap that joins green-life (my info, balance, the green-life menu)."""
    return ui.qr(ctx, _t("join.join_label"), "greenlife", {"dialog": "greenlife", "action": "join"})


def payout_quick_reply(ctx):
    return ui.qr(ctx, _t("join.payout_label"), "greenlife", {"dialog": "greenlife", "action": "payout"})


# --- steps -------------------------------------------------------------------------------------

class AgeStep(ChoiceStep):
    """As the website does: the citizen confirms being 14 or more (E6)."""

    name = "age"
    question = "join.age_question"
    hint = "join.age_invalid"
    why = "join.age_why"
    about, about_words = "join.age_unsure", "about_age"  # what 만 나이 is, and what to tap
    yes, no = "yes", "no"

    def options(self, c: Conv) -> list[Option]:
        return [Option("yes", _t("join.age_yes"), answers.words("greenlife_age.yes")),
                Option("no", _t("join.age_no"), answers.words("greenlife_age.no"))]

    def parse(self, c: Conv, answer) -> str:
        # an age typed instead of yes or no ("15살이에요", "1990년생", "14세 미만")
        age = None if answer.tapped else stated_age(answer.text, today_kst(c.ctx.clock))
        if age is not None:
            settled = age.settles(SELF_CONSENT_AGE)
            if settled is None:
                raise Invalid(_t("join.age_unsure"))
            return "yes" if settled else "no"
        if not answer.tapped and answers.says_any(answers.squash(answer.text), "greenlife_age.unsure"):
            raise Invalid(_t("join.age_unsure"))  # "중학생이에요": 12 to 15, the age decides
        return super().parse(c, answer)

    def apply(self, c: Conv, value: str):
        if value == "no":
            c.ctx.dialog.end()
            c.dialog.app.dialog_event(c.dialog.name, "under14")
            card = TextCard(title=_t("join.under14_title"), description=_t("join.under14_body"))
            return ui.reply([card], ui.menu_quick_replies(c.ctx, member=None))
        c.set(age_confirmed=True)
        return greenlife_dialog(c).after(c, "age")


class RegionStep(TextStep):
    """Where the citizen lives: the 시·도 (and 시·군·구 when known), never the street address;
    Seoul is welcome unless the rules exclude it (E6), when the join ends with the way to
    Seoul's Eco-Mileage."""

    name = "region"
    question = "join.region_question"
    why = "join.region_why"

    def question_text(self, c: Conv) -> str:
        return f"{_t('join.region_question')}\n{seoul_line()}"

    def check(self, c: Conv, text: str) -> dict:
        typed = respell_address(c.ctx.session, text)  # also "수원 영통구", "영통구"
        sido = sido_of(typed)
        if sido is None:
            parsed = infer_sido(c.ctx.session, ParsedAddress(sido=None, base=typed, detail="", kind="road"))
            sido, typed = parsed.sido, parsed.base
        if sido is None:
            raise Invalid(_t("join.region_invalid"))
        # a 구 that a reorganisation split ("인천 서구"): asked which successor
        lg, successors = placement(c.ctx.session, typed, today_kst(c.ctx.clock)) if sido != SEOUL else (None, [])
        return {"sido": sido, "lg": lg.code if lg else None, "seoul": sido == SEOUL,
                "ask": [s.code for s in successors]}

    def apply(self, c: Conv, value: dict):
        if value.get("seoul") and not seoul_welcome():
            c.ctx.dialog.end()  # nothing typed so far is kept
            c.dialog.app.dialog_event(c.dialog.name, "seoul")
            card = TextCard(title=_t("seoul_title"), description=_t("seoul_body"),
                            buttons=[Button.web_link(texts.t("signup.address.seoul_link_label"),
                                                     texts.t("signup.address.seoul_url"))])
            return ui.reply([card], ui.menu_quick_replies(c.ctx, member=None))
        c.set(region=value)
        if value.get("ask"):
            return Go("region_sigungu")
        return greenlife_dialog(c).after(c, "region")


class RegionSigunguStep(F.SuccessorChoiceStep):
    name = "region_sigungu"

    def choice_codes(self, c: Conv) -> list[str]:
        return (c.slots.get("region") or {}).get("ask") or []

    def chosen(self, c: Conv, code: str):
        c.set(region={**(c.slots.get("region") or {}), "lg": code, "ask": []})
        return greenlife_dialog(c).after(c, "region")


class PayoutStep(ChoiceStep):
    name = "payout"
    later = "greenlife.change_later"
    question = "join.payout_question"
    hint = "join.payout_invalid"

    def options(self, c: Conv) -> list[Option]:
        return [Option(G.KAKAO_PAY_MONEY, _t("join.payout_kakao"), answers.words("greenlife_payout.kakao_pay_money")),
                Option(G.ACCOUNT, _t("join.payout_account"), answers.words("greenlife_payout.account"))]

    def parse(self, c: Conv, answer):
        account = None if answer.tapped else F.typed_account(c, answer.text)
        if account is not None and account.bank:  # "신한 110-123-456789": to that account
            return account
        return super().parse(c, answer)

    def apply(self, c: Conv, value):
        if isinstance(value, M.BankAccount):
            c.set(payout=G.ACCOUNT)
            return F.store_pending_account(c, value.bank, value.number)
        c.set(payout=value)
        if value == G.ACCOUNT:
            return Go("bank")
        return greenlife_dialog(c).after(c, "incentive")


class HolderStep(F.AccountHolderStep):
    """An own-name account only; another holder goes back to the payout choice."""

    def apply(self, c: Conv, value: str):
        if value == "no":
            c.set(pending_account_enc=None, pending_account_masked=None)
            return Go("payout", c.t("signup.account.own_name_only"))
        return super().apply(c, value)


# --- the dialog --------------------------------------------------------------------------------

class GreenlifeDialog(F.FieldsDialog):
    name = "greenlife"
    skill = "greenlife"
    text_area = "greenlife"
    first = "age"
    resumed_key = "greenlife.join.resumed"
    undo = True  # a write ends the dialog or begins it afresh (the payout after a one-tap join)
    address_question_key = "greenlife.join.region_question"
    later_key = ""  # only the payout is changed later, from the green-life menu (PayoutStep.later)

    def __init__(self, app) -> None:
        super().__init__(app, [AgeStep(), NameStep(), MobileStep(), RegionStep(), RegionSigunguStep(), PayoutStep(), F.BankStep(),
                               F.AccountNumberStep(), HolderStep()])

    # -- what fields.py asks of a dialog --------------------------------------------------------
    def member_id(self, c: Conv) -> int | None:
        m = M.member_for_user(c.ctx.session, c.ctx.turn.user_key, c.ctx.turn.app_user_id)
        return m.id if m else None

    def member_name(self, c: Conv) -> str:
        if c.slots.get("name"):
            return str(c.slots["name"])
        m = M.member_for_user(c.ctx.session, c.ctx.turn.user_key, c.ctx.turn.app_user_id)
        gm = membership(c.ctx)
        return (m.name if m else None) or (gm.name if gm else None) or ""

    def current_local_government(self, c: Conv):
        return None

    def on_seoul(self, c: Conv) -> dict:  # green-life takes Seoul: never asked here
        raise NotImplementedError

    def after(self, c: Conv, group: str, notice: str | None = None) -> Go | dict:
        flow = c.slots.get("flow") or "join"
        if group == "age":
            return self.link(c) if flow == "link" else Go("name", notice)
        if group == "name":
            return Go("mobile", notice)
        if group == "mobile":
            return Go("region", notice)
        if group == "region":
            return Go("payout", notice)
        if group == "incentive":
            return self.save_payout(c) if flow == "payout" else self.save_join(c)
        return Go(c.step or self.first, notice)

    # -- entry points ---------------------------------------------------------------------------
    def open_join(self, ctx) -> dict:
        gm = membership(ctx)
        if gm is not None:
            return overview(ctx, notice=_t("join.already", number=G.number(gm)))
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if member is not None and member.member_type == "individual":
            # 만 14세 이상 by the rules' member type: the tap is the whole join.
            return self.join_member(ctx, member)
        flow = "link" if member is not None else "join"
        ctx.dialog.begin(self.name, "age", {"flow": flow, "member_type": "individual"})
        self.app.dialog_event(self.name, f"started_{flow}")
        return self.render(ctx, "age")

    def open_payout(self, ctx) -> dict:
        if membership(ctx) is None:
            return self.open_join(ctx)
        ctx.dialog.begin(self.name, "payout", {"flow": "payout"})
        self.app.dialog_event(self.name, "started_payout")
        return self.render(ctx, "payout")

    def handle(self, ctx):
        extra = ctx.turn.client_extra or {}
        if extra.get("dialog") == self.name and extra.get("action") == "join":
            return self.open_join(ctx)
        if extra.get("dialog") == self.name and extra.get("action") == "payout":
            return self.open_payout(ctx)
        return super().handle(ctx)

    def orphan_tap(self, ctx) -> dict:
        return overview(ctx, notice=texts.t("common.session_expired"))

    def skill_handler(self, ctx) -> dict:
        extra = ctx.turn.client_extra or {}
        if extra.get("action") == "join":
            return self.open_join(ctx)
        if ctx.dialog.active and ctx.dialog.name == self.name:
            return self.start(ctx)  # resume
        return overview(ctx)

    # -- the writes -------------------------------------------------------------------------------
    def join_member(self, ctx, member) -> dict:
        try:
            gm = G.join_as_member(ctx.session, ctx.clock, member, age_confirmed=True,
                                  user_key=ctx.turn.user_key, app_user_id=ctx.turn.app_user_id)
        except G.AlreadyJoined as exc:
            return overview(ctx, notice=_t("join.already", number=G.number(exc.membership)))
        self.app.dialog_event(self.name, "joined_one_tap")
        ctx.log.info("green-life joined", extra={"how": "one_tap"})
        ctx.outcome = "completed"
        ctx.dialog.begin(self.name, "payout", {"flow": "payout"})
        return self.render(ctx, "payout", notice=_t("join.joined_link", number=G.number(gm)))

    def link(self, c: Conv):
        ctx = c.ctx
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if member is None:  # withdrawn meanwhile: join alone instead
            c.set(flow="join")
            return Go("name")
        ctx.dialog.end()
        return self.join_member(ctx, member)

    def _account(self, c: Conv) -> tuple[str | None, str | None]:
        s = c.slots
        if s.get("payout") != G.ACCOUNT or not s.get("account_enc"):
            return None, None
        return s.get("bank_name"), c.ctx.cipher.decrypt(s["account_enc"])

    def save_join(self, c: Conv) -> Go | dict:
        ctx, s = c.ctx, c.slots
        region = s.get("region") or {}
        bank, account = self._account(c)
        try:
            gm = G.join_alone(ctx.session, ctx.cipher, ctx.clock, user_key=ctx.turn.user_key,
                              app_user_id=ctx.turn.app_user_id, age_confirmed=bool(s.get("age_confirmed")),
                              name=s.get("name") or "", mobile=s.get("mobile") or "", sido=region.get("sido"),
                              seoul=bool(region.get("seoul")), local_government_code=region.get("lg"),
                              payout_method=s.get("payout"), bank_name=bank, account_number=account)
        except G.AlreadyJoined as exc:
            ctx.dialog.end()
            return overview(ctx, notice=_t("join.already", number=G.number(exc.membership)))
        except G.AgeNotConfirmed:
            return Go("age")
        except M.InvalidValue:  # refused by core's own check (e.g. digits shaped like an RRN)
            c.set(account_enc=None, account_masked=None)
            return Go("bank", texts.t("signup.account.invalid"))
        ctx.dialog.end()
        ctx.outcome = "completed"
        self.app.dialog_event(self.name, "joined_alone")
        ctx.log.info("green-life joined", extra={"how": "alone"})
        body = _t("join.joined", number=G.number(gm), name=mask_name(gm.name), payout=payout_text(ctx, gm))
        return ui.text(ctx, body, [ui.qr(ctx, _t("balance_label"), "balance"), ui.qr(ctx, _t("menu_label"), "greenlife"),
                                   ui.home_quick_reply(ctx)])

    def save_payout(self, c: Conv) -> dict:
        ctx = c.ctx
        gm = membership(ctx)
        method = c.slots.get("payout") or G.KAKAO_PAY_MONEY
        bank, account = self._account(c)
        ctx.dialog.end()
        if gm is None:
            return overview(ctx)
        try:
            G.set_payout(ctx.session, ctx.cipher, ctx.clock, gm, method, bank_name=bank, account_number=account)
        except M.InvalidValue:  # refused by core's own check (e.g. digits shaped like an RRN)
            ctx.dialog.begin(self.name, "bank", {"flow": "payout", "payout": G.ACCOUNT})
            return self.render(ctx, "bank", notice=texts.t("signup.account.invalid"))
        ctx.outcome = "completed"
        self.app.dialog_event(self.name, "changed_payout")
        ctx.log.info("green-life payout changed", extra={"method": gm.payout_method})
        return overview(ctx, notice=_t("join.payout_saved", payout=payout_text(ctx, gm)))


def greenlife_dialog(c: Conv) -> GreenlifeDialog:
    if not isinstance(c.dialog, GreenlifeDialog):
        raise TypeError(f"{type(c.dialog).__name__} runs a green-life step but is not the GreenlifeDialog")
    return c.dialog


def overview(ctx, notice: str | None = None) -> dict:
    from core import statements

    member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    gm = membership(ctx)
    intro = SimpleText(fit_text(intro_text(), limits.SIMPLE_TEXT_MAX))
    faq_qr = ui.qr(ctx, _t("faq_label"), "help", {"faq": "greenlife_not_accruing"},
                   texts.t("faq.greenlife_not_accruing.question"))
    if gm is None:
        if member is None:
            card = TextCard(description=_t("not_member", seoul=seoul_line()),
                            buttons=[Button.web_link(_t("website_label"), _t("website_url"))])
            qrs = [join_quick_reply(ctx), ui.qr(ctx, _t("signup_label"), "signup"), faq_qr, ui.home_quick_reply(ctx)]
        else:
            card = TextCard(description=_t("join.member_not_joined"))
            qrs = [join_quick_reply(ctx), faq_qr, ui.qr(ctx, _t("balance_label"), "balance"), ui.home_quick_reply(ctx)]
        response = ui.reply([intro, card], qrs)
        return ui.prepend_text(response, notice) if notice else response
    today = today_kst(ctx.clock)
    view = statements.greenlife_year_view(ctx.session, gm.id, today.year, today)
    outputs = [intro, year_card(view, today)]
    notes = [n for n in (activities_text(view),
                         _t("cap_reached", cap=_won(view["cap"])) if view["remaining"] == 0 else None) if n]
    notes.append(_t("join.membership", number=G.number(gm), payout=payout_text(ctx, gm)))
    outputs.append(SimpleText(fit_text("\n".join(notes), limits.SIMPLE_TEXT_MAX)))
    response = ui.reply(outputs, [faq_qr, payout_quick_reply(ctx), ui.qr(ctx, _t("balance_label"), "balance"),
                                  ui.home_quick_reply(ctx)])
    return ui.prepend_text(response, notice) if notice else response


def register(app: BotApp) -> None:
    dialog = GreenlifeDialog(app)
    app.add_dialog(dialog)
    app.skill("greenlife")(dialog.skill_handler)
