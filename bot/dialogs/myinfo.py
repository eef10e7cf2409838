"""My info (skill `myinfo`): masked details and the changes a member makes in the chat.

Flows (one dialog, `flow` slot), each ending in one core call in the turn's transaction:
    incentive  incentive_type -> [bank -> account_number -> account_holder] -> change_incentive
    account    bank -> account_number -> account_holder -> change_account
    resources  pick_resource -> billing_mode -> [customer_number] -> change_resources
    move       address -> [address_detail] -> billing_mode/customer_number x3 -> move_confirm -> move_house
               a Seoul address: leave_confirm -> leave_for_seoul (spec E3: participation ends)
    mobile     mobile -> change_mobile
    householder  householder -> [householder_name] -> change_head_of_household (households only)
    withdraw   withdraw_confirm -> withdraw
    company    account_company -> confirm_company (a number kept by a move into a region several
               companies supply: asked on the next my-info or balance turn, core.members.companies_to_ask)
The steps are the signup's (bot.dialogs.signup.fields), with the same checks; taps carry
{"dialog": "myinfo", "step": ..., "value": ...}; a menu tap {"dialog": "myinfo", "action": "open",
"flow": ...} starts a flow.
"""
from __future__ import annotations

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs import answers, mydata
from bot.dialogs.signup import fields as F
from bot.dialogs.signup.dialog import (
    EmailStep,
    HouseholderNameStep,
    HouseholderStep,
    MobileStep,
    mask_email,
    member_type_label,
)
from bot.dialogs.signup.machine import Answer, ChoiceStep, Conv, Go, Option, Prompt
from bot.kakao import limits
from bot.kakao.parts import Button, Item
from bot.kakao.response import ItemCard, TextCard, fit_text
from core import members as M
from core import utility_companies as UC
from core.clock import kst_date, today_kst
from core.local_governments import ParsedAddress
from core.models import LocalGovernment
from core.pii import mask_mobile, mask_name

FLOWS = ("incentive", "account", "resources", "move", "mobile", "email", "householder", "withdraw")
FIRST_STEP = {"incentive": "incentive_type", "account": "bank", "resources": "pick_resource", "move": "address",
              "mobile": "mobile", "email": "email", "householder": "householder", "withdraw": "withdraw_confirm"}


def _t(key: str, **fmt) -> str:
    return texts.t(f"myinfo.{key}", **fmt)


def current_member(ctx):
    return M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)


class PickResourceStep(ChoiceStep):
    name = "pick_resource"
    question = "myinfo.resources.question"
    hint = "myinfo.resources.invalid"

    def options(self, c: Conv) -> list[Option]:
        return [Option(r, F.resource_label(r), answers.words(f"pick_resource.{r}")) for r in F.rules().resources]

    def from_request(self, c: Conv, text: str) -> str | None:
        """"가스 고객번호 바꿀래요": the one resource the request names."""
        typed = answers.squash(text)
        named = [o.value for o in self.options(c)
                 if any(len(w) >= 2 and w in typed for w in map(answers.squash, (o.label, *o.words)))]
        return named[0] if len(named) == 1 else None

    def apply(self, c: Conv, value: str):
        return F.first_resource_step(c, [value])


class MoveConfirmStep(ChoiceStep):
    name = "move_confirm"
    hint = "myinfo.move.invalid"
    yes = "save"
    confirms = True

    def options(self, c: Conv) -> list[Option]:
        return [Option("save", _t("move.save"), answers.words("move_confirm.save"))]

    def ask(self, c: Conv) -> Prompt:
        address = c.slots.get("address") or {}
        rows = [(_t("rows.address"), F.mask_address(address.get("base"), address.get("detail")))]
        rows += [(F.resource_label(r), F.resource_summary(c, r)) for r in F.rules().resources]
        card = ItemCard(
            item_list=[Item(title[: limits.ITEM_TITLE_MAX], fit_text(desc or "-", 60)) for title, desc in rows],
            head=_t("move.confirm_head"), title=_t("move.confirm_title"), description=_t("move.confirm_description"),
            item_list_alignment="left", buttons=[c.button(_t("move.save"), "save"), c.cancel_button()])
        return Prompt([card], [c.qr(_t("move.save"), "save")])

    def apply(self, c: Conv, value: str):
        return myinfo_dialog(c).save_move(c)


class AccountCompanyStep(F.UtilityCompanyStep):
    """Which of the new region's companies bills a number the member kept when moving (quick
    replies of the region's companies, as signup asks)."""

    name = "account_company"

    def apply(self, c: Conv, value: str):
        return myinfo_dialog(c).save_company(c, value)


class MemberSigunguStep(F.SuccessorChoiceStep):
    """Which 구 a member lives in whose address names one a reorganisation split (joined
    before the chat asked): asked on the next my-info or balance turn (M.sigungu_to_ask)."""

    name = "member_sigungu"
    question_key = "myinfo.sigungu.question"

    def choice_codes(self, c: Conv) -> list[str]:
        return c.slots.get("sigungu_choices") or []

    def chosen(self, c: Conv, code: str):
        return myinfo_dialog(c).save_sigungu(c, code)


class LeaveConfirmStep(ChoiceStep):
    """A move into Seoul ends participation (spec E3): said plainly, confirmed with one tap."""

    name = "leave_confirm"
    hint = "myinfo.leave.invalid"
    yes = "leave"
    confirms = True

    def options(self, c: Conv) -> list[Option]:
        return [Option("leave", _t("leave.confirm"), answers.words("leave_confirm.leave"))]

    def ask(self, c: Conv) -> Prompt:
        card = TextCard(title=_t("move.seoul_title"), description=_t("move.seoul_body"),
                        buttons=[c.button(_t("leave.confirm"), "leave"), c.cancel_button()])
        return Prompt([card], [c.qr(_t("leave.confirm"), "leave")])

    def apply(self, c: Conv, value: str):
        return myinfo_dialog(c).save_leave(c)


class WithdrawConfirmStep(ChoiceStep):
    name = "withdraw_confirm"
    hint = "myinfo.withdraw.invalid"
    yes, no = "withdraw", "keep"
    confirms = True
    keep_words = "flows.withdraw"

    def options(self, c: Conv) -> list[Option]:
        return [Option("withdraw", _t("withdraw.confirm"), answers.words("withdraw.withdraw")),
                Option("keep", _t("withdraw.keep"), answers.words("withdraw.keep"))]

    def ask(self, c: Conv) -> Prompt:
        card = TextCard(title=_t("withdraw.title"), description=_t("withdraw.body"),
                        buttons=[c.button(_t("withdraw.confirm"), "withdraw"), c.button(_t("withdraw.keep"), "keep")])
        return Prompt([card], [c.qr(o.label, o.value) for o in self.options(c)], cancel=False)

    def apply(self, c: Conv, value: str):
        if value == "keep":
            c.ctx.dialog.end()
            return overview(c.ctx, myinfo_dialog(c).member(c), notice=_t("withdraw.kept"))
        return myinfo_dialog(c).save_withdraw(c)


class MemberEmailStep(EmailStep):
    """The e-mail address given at signup (optional): a new one, none at all ('지워 주세요', the
    button), or the one held kept ('아니요': no change, which at signup would mean no address)."""

    skip_label = "myinfo.email.delete_label"
    KEEP, DELETE = "keep", ""

    @staticmethod
    def deletes(text: str) -> bool:
        return "@" not in text and answers.says_any(answers.squash(text), "email_change.delete")

    def parse(self, c: Conv, answer: Answer):
        typed = answers.squash(answer.text)
        if answer.value == "skip" or typed == answers.squash(c.t(self.skip_label)) or (
                not answer.tapped and self.deletes(answer.text)):
            return self.DELETE
        if not answer.tapped and (answers.yes_no(answer.text) is False or answers.in_words(answer.text, "skip")
                                  or ("@" not in answer.text and answers.says_any(typed, "email_change.keep"))):
            return self.KEEP
        return super().parse(c, answer)

    def from_request(self, c: Conv, text: str):
        """'이메일 지워 주세요' deletes; 'new@example.com으로 이메일 바꿔줘' takes the address."""
        if self.deletes(text):
            return self.DELETE
        found = M.find_email(text)
        if found is None:
            return None
        try:
            return M.normalise_email(found)
        except M.InvalidValue:
            return None

    def apply(self, c: Conv, value):
        c.set(email=value)
        return F.host(c).after(c, "email")


class MyInfoDialog(F.FieldsDialog):
    name = "myinfo"
    skill = "myinfo"
    text_area = "myinfo"
    first = "incentive_type"
    address_question_key = "signup.address.question_move"
    resumed_key = "myinfo.resumed"
    later_key = "myinfo.change_later"
    undo = True  # every change is saved by the step that ends the dialog

    def __init__(self, app) -> None:
        steps = [*(cls() for cls in F.SHARED_STEPS), MobileStep(), MemberEmailStep(), PickResourceStep(), MoveConfirmStep(),
                 LeaveConfirmStep(), WithdrawConfirmStep(), AccountCompanyStep(), MemberSigunguStep(),
                 HouseholderStep(), HouseholderNameStep()]
        super().__init__(app, steps)

    # -- what fields.py asks of a dialog --------------------------------------------------------
    def member(self, c: Conv):
        return current_member(c.ctx)

    def member_id(self, c: Conv) -> int | None:
        m = self.member(c)
        return m.id if m else None

    def member_name(self, c: Conv) -> str:
        m = self.member(c)
        return (m.name if m else "") or ""

    def current_local_government(self, c: Conv) -> LocalGovernment | None:
        m = self.member(c)
        return c.ctx.session.get(LocalGovernment, m.local_government_code) if m and m.local_government_code else None

    def on_seoul(self, c: Conv) -> dict | Go:
        """A Seoul address in the move flow: participation ends once the member confirms."""
        self.app.dialog_event(self.name, "seoul")
        return Go("leave_confirm")

    def after(self, c: Conv, group: str, notice: str | None = None) -> Go | dict:
        flow: str = c.slots.get("flow") or ""
        if flow == "move":
            if group == "address":
                return F.first_resource_step(c, notice=notice)
            if group == "resources":
                return Go("move_confirm", notice)
        if flow in ("incentive", "account") and group == "incentive":
            return self.save_incentive(c)
        if flow == "resources" and group == "resources":
            return self.save_resources(c)
        if flow == "mobile" and group == "mobile":
            return self.save_mobile(c)
        if flow == "email" and group == "email":
            return self.save_email(c)
        if flow == "householder" and group == "householder":
            return self.save_householder(c)
        return Go(c.step or FIRST_STEP.get(flow, "incentive_type"), notice)

    def aside(self, ctx, step, text: str) -> dict | None:
        """Another change asked for where a step could not take the text ('주소 바뀌었어요' while
        the gas customer number is asked): that change, in place of the one in progress (a
        question about it is answered instead, by the FAQ)."""
        if not self.asks_other(ctx, text) or answers.looks_like_question(text):
            return None
        flow = flow_for_text(text)
        assert flow is not None  # asks_other found it
        ctx.dialog.end()
        return self.open_flow(ctx, flow)

    def asks_other(self, ctx, text: str) -> bool:
        flow = flow_for_text(text)
        return flow is not None and flow != mydata.ACTION and flow != ctx.dialog.slots.get("flow")

    # -- entry points ---------------------------------------------------------------------------
    def open_flow(self, ctx, flow: str) -> dict:
        member = current_member(ctx)
        if member is None:
            return not_member_reply(ctx)
        extra = ctx.turn.client_extra or {}
        if flow == "withdraw" and (extra.get("intent") == "withdraw"
                                   or (not extra and answers.looks_like_question(ctx.turn.utterance))):
            # "탈퇴하면 다시 가입 가능해요?" (or its close call's choice): the answer, and a button
            # to the confirmation; no confirmation is opened that a following "네" would answer
            return withdraw_info(ctx)
        if flow == "withdraw" and not extra and answers.says_any(answers.squash(ctx.turn.utterance), "withdraw.denied"):
            # "탈퇴 안 할래요": nothing is opened that a following "네" could answer
            return ui.menu_reply(ctx, _t("withdraw.not_withdrawn"), member=True)
        if flow == "householder" and member.member_type not in M.HOUSEHOLD_MEMBER_TYPES:
            return overview(ctx, member, notice=_t("householder.not_household"))
        notice = _t("move.intro") if flow == "move" else None
        ctx.dialog.begin(self.name, FIRST_STEP[flow], {"flow": flow})
        self.app.dialog_event(self.name, f"started_{flow}")
        return self.ask_unless_requested(ctx, FIRST_STEP[flow], notice=notice)

    def skill_handler(self, ctx) -> dict:
        extra = ctx.turn.client_extra or {}
        member = current_member(ctx)
        if member is None:
            return not_member_reply(ctx)
        if extra.get("action") == "open" and extra.get("flow") in FLOWS:
            return self.open_flow(ctx, extra["flow"])
        if extra.get("action") == mydata.ACTION or wants_all_data(ctx.turn.utterance, extra):
            return mydata.all_data_reply(ctx, member)
        if ctx.dialog.active and ctx.dialog.name == self.name:
            return self.start(ctx)  # resume
        flow = flow_for_text(ctx.turn.utterance)
        if flow:
            return self.open_flow(ctx, flow)
        return self.ask_pending(ctx, member) or overview(ctx, member)

    def orphan_tap(self, ctx) -> dict:
        extra = ctx.turn.client_extra or {}
        if extra.get("action") == "open" and extra.get("flow") in FLOWS:
            return self.open_flow(ctx, extra["flow"])
        member = current_member(ctx)
        if member is None:
            return not_member_reply(ctx)
        if extra.get("action") == mydata.ACTION:
            return mydata.all_data_reply(ctx, member)
        return overview(ctx, member, notice=texts.t("common.session_expired") if extra.get("step") else None)

    def handle(self, ctx):
        extra = ctx.turn.client_extra or {}
        if extra.get("dialog") == self.name and extra.get("action") == "open" and extra.get("flow") in FLOWS:
            return self.open_flow(ctx, extra["flow"])
        if extra.get("dialog") == self.name and extra.get("action") == mydata.ACTION:
            member = current_member(ctx)  # a view only: the pending change stays where it was
            return mydata.all_data_reply(ctx, member) if member is not None else not_member_reply(ctx)
        if ctx.dialog.active and ctx.dialog.name == self.name and current_member(ctx) is None:
            ctx.dialog.end()  # withdrawn meanwhile (another channel, an operator)
            return not_member_reply(ctx)
        return super().handle(ctx)

    # -- the writes -------------------------------------------------------------------------------
    def _done(self, c: Conv, body: str, event: str) -> dict:
        c.ctx.dialog.end()
        c.ctx.outcome = "completed"
        self.app.dialog_event(self.name, event)
        c.ctx.log.info("member changed", extra={"change": event})
        return overview(c.ctx, self.member(c), notice=body)

    def save_incentive(self, c: Conv):
        ctx, s = c.ctx, c.slots
        member = self.member(c)
        code = s.get("incentive_type") or F.rules().default_incentive_type
        account = ctx.cipher.decrypt(s["account_enc"]) if s.get("account_enc") else None
        try:
            if code == M.CASH and account:
                M.change_account(ctx.session, ctx.cipher, member, s.get("bank_name") or "", account, member.name)
            else:
                M.change_incentive(ctx.session, ctx.cipher, member, code, rules=F.rules())
        except M.AccountRequired:
            return Go("bank")
        except M.IncentiveNotOffered:
            return Go("incentive_type", _t("account.cash_not_offered"))
        if code == M.CASH and account:
            body = _t("account.saved", bank=F.bank_label(member.bank_name or ""), masked=s.get("account_masked", ""))
        else:
            body = _t("incentive.saved", label=F.incentive_label(code))
        return self._done(c, body, f"changed_{s.get('flow')}")

    def save_resources(self, c: Conv):
        ctx = c.ctx
        member = self.member(c)
        only = c.slots.get("resource_order") or []
        try:
            changed = M.change_resources(ctx.session, ctx.cipher, ctx.clock, member, F.resource_choices(c, only),
                                         F.rules())
        except M.CustomerNumberTaken as exc:
            c.set(resource=exc.resource)
            return Go("customer_number", c.t("signup.customer_number.taken", resource=F.resource_label(exc.resource),
                                             call_centre=ctx.settings.call_centre))
        label = F.resource_label(only[0]) if only else ""
        if not changed:
            return self._done(c, _t("resources.saved_same", resource=label), "resources_unchanged")
        half = M.first_evaluated_half(ctx.clock)
        return self._done(c, _t("resources.saved", resource=label, half=half_text(half)), "changed_resources")

    def save_move(self, c: Conv):
        ctx = c.ctx
        member = self.member(c)
        before = member.incentive_type
        parsed = F.parsed_from_slots(c.slots)
        if parsed is None:  # the move flow asks the address first
            return Go("address")
        try:
            lg = M.move_house(ctx.session, ctx.cipher, ctx.clock, member, parsed, F.resource_choices(c), F.rules(),
                              chosen_lg=(c.slots.get("address") or {}).get("lg_code"))
        except M.SeoulAddress:
            return self.on_seoul(c)
        except M.HouseholdTaken:
            c.ctx.dialog.goto("address")
            return self.failed(ctx, self.steps["address"], c.t("signup.address.household_taken",
                                                                call_centre=ctx.settings.call_centre))
        except M.CustomerNumberTaken as exc:
            c.set(resource=exc.resource, resource_order=[exc.resource])
            return Go("customer_number", c.t("signup.customer_number.taken", resource=F.resource_label(exc.resource),
                                             call_centre=ctx.settings.call_centre))
        notes = [_t("move.saved", half=half_text(M.first_evaluated_half(ctx.clock)))]
        if member.incentive_type != before:
            notes.append(_t("move.incentive_reset", label=F.incentive_label(member.incentive_type)))
        if lg is None:
            notes.append(_t("move.lg_unknown"))
        return self._done(c, "\n".join(notes), "moved")

    def save_leave(self, c: Conv):
        ctx = c.ctx
        member = self.member(c)
        seoul = c.slots.get("seoul_address")
        parsed = (ParsedAddress(sido=seoul.get("sido"), base=seoul["base"], detail=seoul.get("detail") or "",
                                kind=seoul.get("kind", "road")) if seoul else None)
        M.leave_for_seoul(ctx.session, ctx.cipher, ctx.clock, member, parsed)
        ctx.dialog.end()
        ctx.outcome = "completed"
        self.app.dialog_event(self.name, "left_for_seoul")
        ctx.log.info("member left for Seoul", extra={"member_id": member.id})
        return left_reply(ctx)

    def ask_pending(self, ctx, member) -> dict | None:
        """What the member must answer before anything else: their 구 after a split, then the
        company of a number a move kept (None: nothing)."""
        return self.ask_sigungu(ctx, member) or self.ask_company(ctx, member)

    def ask_sigungu(self, ctx, member) -> dict | None:
        choices = M.sigungu_to_ask(ctx.session, member, today_kst(ctx.clock))
        if not choices:
            return None
        ctx.dialog.begin(self.name, "member_sigungu", {"flow": "sigungu",
                                                       "sigungu_choices": [lg.code for lg in choices]})
        self.app.dialog_event(self.name, "started_sigungu")
        return self.render(ctx, "member_sigungu")

    def save_sigungu(self, c: Conv, code: str):
        member = self.member(c)
        lg, reset = M.confirm_local_government(c.ctx.session, c.ctx.clock, member, code, F.rules())
        if lg is None:  # answered meanwhile (another channel, an operator)
            return self._done(c, _t("sigungu.saved_before"), "sigungu_unchanged")
        body = _t("sigungu.saved", name=lg.name)
        if reset:
            body += "\n" + _t("sigungu.incentive_reset", name=lg.name, label=F.incentive_label(member.incentive_type))
        return self.ask_company(c.ctx, member, notice=body) or self._done(c, body, "changed_sigungu")

    def ask_company(self, ctx, member, notice: str | None = None) -> dict | None:
        """The question of the first number whose company a move left open (None: nothing to
        ask)."""
        todo = M.companies_to_ask(member)
        if not todo:
            return None
        ctx.dialog.begin(self.name, "account_company", {"flow": "company", "resource": todo[0]})
        self.app.dialog_event(self.name, "started_company")
        return self.render(ctx, "account_company",
                           notice=notice or _t("company.after_move", resource=F.resource_label(todo[0])))

    def save_company(self, c: Conv, code: str):
        ctx = c.ctx
        member = self.member(c)
        resource = c.slots.get("resource") or ""
        M.confirm_company(ctx.session, member, resource, code)
        saved = _t("company.saved", resource=F.resource_label(resource), company=UC.company_name(resource, code))
        if M.companies_to_ask(member):  # another number kept by the move
            ctx.dialog.end()
            return self.ask_company(ctx, member, notice=saved) or self._done(c, saved, "changed_company")
        return self._done(c, saved, "changed_company")

    def save_mobile(self, c: Conv):
        member = self.member(c)
        M.change_mobile(c.ctx.session, member, c.slots["mobile"])
        return self._done(c, _t("mobile.saved", masked=mask_mobile(member.mobile)), "changed_mobile")

    def save_householder(self, c: Conv):
        member = self.member(c)
        head = c.slots.get("head_of_household") if c.slots.get("householder") == "other" else None
        M.change_head_of_household(c.ctx.session, member, head)
        notice = _t("householder.saved_other", masked=mask_name(head)) if head else _t("householder.saved_self")
        return self._done(c, notice, "changed_householder")

    def save_email(self, c: Conv):
        member = self.member(c)
        email = c.slots.get("email")
        if email == MemberEmailStep.KEEP:
            return self._done(c, _t("email.kept"), "kept_email")
        M.change_email(c.ctx.session, member, email or None)
        if email:
            return self._done(c, _t("email.saved", masked=mask_email(member.email)), "changed_email")
        return self._done(c, _t("email.deleted"), "deleted_email")

    def save_withdraw(self, c: Conv):
        ctx = c.ctx
        member = self.member(c)
        M.withdraw(ctx.session, ctx.clock, member)
        ctx.dialog.end()
        ctx.outcome = "completed"
        self.app.dialog_event(self.name, "withdrawn")
        ctx.log.info("member withdrew", extra={"member_id": member.id})
        return ui.menu_reply(ctx, _t("withdraw.done"), member=False)


def left_reply(ctx) -> dict:
    """Participation ended by a move into Seoul: Eco-mileage, with the link."""
    card = TextCard(title=_t("leave.done_title"), description=_t("leave.done_body"),
                    buttons=[Button.web_link(texts.t("signup.address.seoul_link_label"),
                                             texts.t("signup.address.seoul_url"))])
    return ui.reply([card], [ui.home_quick_reply(ctx)])


def myinfo_dialog(c: Conv) -> MyInfoDialog:
    """The dialog running a my-info step."""
    if not isinstance(c.dialog, MyInfoDialog):
        raise TypeError(f"{type(c.dialog).__name__} runs a my-info step but is not the MyInfoDialog")
    return c.dialog


def half_text(half) -> str:
    return texts.t("balance.half_name", year=half.year, half=texts.t(f"balance.half_{half.number}"))


def flow_for_text(text: str | None) -> str | None:
    """The change a typed request names (answers.toml [flows], first match wins), or the
    mobile change for a new mobile number typed with a change word ('010-9999-8888로 번호
    바꿨어요'), not asked as a question."""
    flow = answers.first_listed(text, "flows")
    if flow in FLOWS:
        return flow
    return "mobile" if flow in (None, "change") and text and changes_mobile(text) else None


def asks_change(text: str | None) -> bool:
    """Typed text asking for a change (a word of answers.toml [flows] change), not a question."""
    return not answers.looks_like_question(text) and answers.says_any(answers.squash(text), "flows.change")


def changes_mobile(text: str) -> bool:
    if not asks_change(text):
        return False
    try:
        M.normalise_mobile(text)
    except M.InvalidValue:
        return False
    return True


def wants_all_data(text: str | None, extra: dict) -> bool:
    """A typed request for everything held (answers.toml [flows] all_data), not a tap."""
    return not extra and answers.first_listed(text, "flows") == mydata.ACTION


def withdraw_info(ctx) -> dict:
    """What withdrawing does, for a member who asked: nothing starts before the button."""
    body = "\n".join((_t("withdraw.info_title"), _t("withdraw.body"), _t("withdraw.info_next")))
    return ui.text(ctx, body, [ui.qr(ctx, _t("withdraw.confirm"), "myinfo",
                                     {"dialog": "myinfo", "action": "open", "flow": "withdraw"}),
                               ui.qr(ctx, texts.t("common.menu.myinfo"), "myinfo"), ui.home_quick_reply(ctx)])


def not_member_reply(ctx) -> dict:
    return ui.text(ctx, _t("not_member"), [ui.qr(ctx, texts.t("common.menu.signup"), "signup"),
                                           ui.home_quick_reply(ctx)])


def resource_rows(ctx, member) -> list[tuple[str, str]]:
    """(resource name, how it is billed with its customer number masked) of each resource."""
    rows = []
    for resource in F.rules().resources:
        account = M.account_for(member, resource)
        if account is None:
            desc = _t("not_registered")
        elif account.billing_mode == "separate":
            desc = f"{F.billing_label('separate')} {M.masked_customer_number(ctx.cipher, account)}"
            if account.company and len(UC.companies_for(resource)) > 1:  # KEPCO goes without saying
                desc += f" ({UC.company_name(resource, account.company)})"
        else:
            desc = F.billing_label(account.billing_mode)
        rows.append((F.resource_label(resource), desc))
    return rows


def overview(ctx, member, notice: str | None = None) -> dict:
    if member is None:
        return not_member_reply(ctx)
    cipher = ctx.cipher
    lg = ctx.session.get(LocalGovernment, member.local_government_code) if member.local_government_code else None
    address = F.mask_address(member.address, member.address_detail) + ("" if lg else _t("lg_unknown"))
    rows = [(_t("rows.type"), member_type_label(member.member_type)), (_t("rows.name"), mask_name(member.name)),
            (_t("rows.mobile"), mask_mobile(member.mobile)), (_t("rows.address"), address)]
    if member.member_type in M.HOUSEHOLD_MEMBER_TYPES:
        head = member.head_of_household
        rows.append((_t("rows.householder"),
                     _t("householder.self") if not head or head == member.name else mask_name(head)))
    rows.extend(resource_rows(ctx, member))
    incentive = F.incentive_label(member.incentive_type)
    if member.incentive_type == M.CASH and member.account_number_enc:
        incentive = f"{incentive} · {member.bank_name or ''} {M.masked_account_number(cipher, member)}"
    elif member.incentive_type == M.CASH:  # a registry member without one: payouts wait for it
        incentive = f"{incentive} · {_t('no_account')}"
    rows.append((_t("rows.incentive"), incentive))
    from core.campaigns import may_receive_campaigns

    rows.append((_t("rows.campaign"), _t("campaign_yes") if may_receive_campaigns(member) else _t("campaign_no")))
    items = [Item(title[: limits.ITEM_TITLE_MAX], fit_text(desc or "-", 60)) for title, desc in rows]
    joined = kst_date(member.joined_at).isoformat() if member.joined_at else ""
    # the registry's member number, which the call centre and the 시·군·구 ask for
    description = (_t("description_member_no", member_no=member.member_no, joined=joined) if member.member_no
                   else _t("description", joined=joined))
    card = ItemCard(item_list=items[: limits.ITEM_CARD_ITEMS_MAX], head=_t("head"), title=_t("title"),
                    description=description, item_list_alignment="left")
    qrs = [ui.qr(ctx, _t(f"labels.{flow}"), "myinfo", {"dialog": "myinfo", "action": "open", "flow": flow})
           for flow in ("incentive", "account", "resources", "move", "mobile", "withdraw")]
    qrs.append(ui.qr(ctx, texts.t("mydata.label"), "myinfo", {"dialog": "myinfo", "action": mydata.ACTION}))
    from bot.dialogs import greenlife, notify
    from core.member_link import can_unlink

    if can_unlink(member):  # a registry member: KakaoTalk can be unlinked (bot.dialogs.link)
        qrs.append(ui.qr(ctx, texts.t("link.unlink.label"), "link", {"dialog": "link", "action": "unlink"}))
    # Campaign messages are switched on 알림 설정 with the other topics.
    qrs.append(notify.entry_quick_reply(ctx))
    if greenlife.membership(ctx) is None:  # green-life is its own membership: one tap joins it
        qrs.append(greenlife.join_quick_reply(ctx))
    qrs = qrs[: limits.QUICK_REPLIES_MAX - 1]  # Kakao's cap; the green-life menu also offers the join
    qrs.append(ui.home_quick_reply(ctx))
    response = ui.reply([card], qrs)
    return ui.prepend_text(response, notice) if notice else response


def register(app: BotApp) -> None:
    dialog = MyInfoDialog(app)
    app.add_dialog(dialog)
    app.skill("myinfo")(dialog.skill_handler)
