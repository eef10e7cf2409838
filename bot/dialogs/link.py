"""Linking KakaoTalk to an existing member (skill `link`, dialog `link`; issue 15).

A member who joined on the website or at the local government (imported by `cpoint
import-members`) taps "이미 회원이에요" on the welcome or the signup's first question and proves the
membership with what a member knows (core.member_link):

    consent -> member_no (or "번호를 몰라요") -> name -> mobile -> [address, when no number was given]
    -> linked | no match (no hint which answer was wrong) | limit reached | linked elsewhere

Unlinking (`{"dialog": "link", "action": "unlink"}`, offered in my info to registry members):
    unlink_confirm -> unlink_member
"""
from __future__ import annotations

import re

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs import answers
from bot.dialogs.signup.machine import (
    Answer,
    ChoiceStep,
    Conv,
    Go,
    Invalid,
    Option,
    Prompt,
    StepDialog,
    TextStep,
    answered_with,
)
from bot.kakao.parts import Button
from bot.kakao.response import TextCard
from core import member_link as L
from core import members as M
from core.clock import utcnow_naive
from core.local_governments import infer_sido, parse_address, respell_address
from core.pii import mask_mobile, mask_name

_MEMBER_NO = re.compile(r"^[A-Z0-9]{1,20}$")


def link_quick_reply(ctx):
    """The "이미 회원이에요" quick reply (welcome, signup's first question)."""
    return ui.qr(ctx, texts.t("link.start_label"), "link", {"dialog": "link", "action": "open"})


class ConsentStep(ChoiceStep):
    """The chat's own consent: linking lets this KakaoTalk read the membership and receive its
    notices, a use the registry signup did not cover. Recorded on the member when the link is
    made (consents["kakao_link"], with the notice's version)."""

    name = "consent"
    hint = "consent.invalid"
    yes, no = "agree", "disagree"

    def options(self, c: Conv) -> list[Option]:
        return [Option("agree", c.t("consent.agree"), answers.words("terms.agree_required")),
                Option("disagree", c.t("consent.disagree"), answers.words("terms.disagree"))]

    def ask(self, c: Conv) -> Prompt:
        card = TextCard(title=c.t("consent.title"), description=c.t("consent.body"),
                        buttons=[Button.web_link(c.t("consent.full_text_label"), c.ctx.settings.terms_url)])
        return Prompt([card], [c.qr(o.label, o.value) for o in self.options(c)])

    def apply(self, c: Conv, value: str):
        if value == "disagree":
            c.ctx.dialog.end()
            c.dialog.app.dialog_event(c.dialog.name, "consent_declined")
            return ui.menu_reply(c.ctx, c.t("consent.declined"), member=False)
        c.set(consented_at=utcnow_naive(c.ctx.clock).isoformat(timespec="seconds"))
        return Go("member_no")


class MemberNoStep(TextStep):
    name = "member_no"
    question = "member_no.question"
    skip_label = "member_no.skip"
    why = "link.member_no.why"
    about, about_words = "link.member_no.about", "about_member_no"

    def parse(self, c: Conv, answer: Answer):
        # "회원번호 모르는데요", "기억 안 나요": as the '번호를 몰라요' button (the address is asked instead)
        if not answer.tapped and not any(ch.isdigit() for ch in answer.text) and not answers.asks(answer.text) \
                and answers.says_any(answers.squash(answer.text), "customer_number_unknown"):
            return None
        return super().parse(c, answer)

    def check(self, c: Conv, text: str) -> str:
        number = L.typed_member_no(text)  # GG-2019-000123, GG 2019 000123, gg2019000123: one key
        if not _MEMBER_NO.match(number):
            number = L.member_no_in_text(text) or ""  # "제 회원번호는 GG-2019-000123이에요"
        if not _MEMBER_NO.match(number):
            raise Invalid(c.t("member_no.invalid"))
        return number

    def apply(self, c: Conv, value: str | None):
        c.set(member_no=value)
        return Go("name")


class NameStep(TextStep):
    name = "name"
    question = "name.question"
    why = "link.name.why"

    def check(self, c: Conv, text: str) -> str | tuple[str, str]:
        t = text.strip()
        if re.search(r"\d{3,}", t):
            try:  # "박서연 010-5555-6666": the name and the next question's answer together
                both = M.name_and_mobile(t)
            except M.InvalidValue:
                both = None
            if both is None:
                raise Invalid(c.t("name.invalid"))
            return both
        if not t or len(t) > 60:
            raise Invalid(c.t("name.invalid"))
        try:
            return M.typed_name(t)  # "홍길동이에요" is 홍길동
        except M.InvalidValue:
            return t

    def apply(self, c: Conv, value: str | tuple[str, str]):
        if isinstance(value, tuple):
            c.set(name=value[0])
            return answered_with(c, "mobile", value[1], c.t("signup.mobile.taken_with_name", masked=mask_mobile(value[1])))
        c.set(name=value)
        return Go("mobile")


class MobileStep(TextStep):
    name = "mobile"
    question = "mobile.question"
    why = "link.mobile.why"

    def check(self, c: Conv, text: str) -> str:
        try:
            return M.normalise_mobile(text)
        except M.InvalidValue:
            raise Invalid(c.t("mobile.invalid")) from None

    def apply(self, c: Conv, value: str):
        c.set(mobile=value)
        if not c.slots.get("member_no"):
            return Go("address")
        return link_dialog(c).attempt(c)


class AddressStep(TextStep):
    name = "address"
    question = "address.question"
    why = "link.address.why"

    def check(self, c: Conv, text: str) -> dict:
        parsed = parse_address(respell_address(c.ctx.session, text))
        if parsed is None:
            raise Invalid(c.t("address.invalid"))
        parsed = infer_sido(c.ctx.session, parsed)
        if parsed.sido is None:
            raise Invalid(c.t("address.invalid"))
        return {"sido": parsed.sido, "base": parsed.base, "detail": parsed.detail, "kind": parsed.kind}

    def apply(self, c: Conv, value: dict):
        c.set(address=value)
        return link_dialog(c).attempt(c)


class UnlinkConfirmStep(ChoiceStep):
    name = "unlink_confirm"
    hint = "unlink.invalid"
    yes, no = "unlink", "keep"
    confirms = True
    keep_words = "unlink.keep_words"

    def options(self, c: Conv) -> list[Option]:
        return [Option("unlink", c.t("unlink.confirm")), Option("keep", c.t("unlink.keep"), answers.words("withdraw.keep"))]

    def ask(self, c: Conv) -> Prompt:
        card = TextCard(title=c.t("unlink.title"), description=c.t("unlink.body"),
                        buttons=[c.button(c.t("unlink.confirm"), "unlink"), c.button(c.t("unlink.keep"), "keep")])
        return Prompt([card], [c.qr(o.label, o.value) for o in self.options(c)], cancel=False)

    def apply(self, c: Conv, value: str):
        ctx = c.ctx
        ctx.dialog.end()
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if value == "keep" or not L.can_unlink(member):
            return ui.menu_reply(ctx, c.t("unlink.kept" if value == "keep" else "unlink.not_available"),
                                 member=member is not None)
        L.unlink_member(ctx.session, member)
        ctx.outcome = "completed"
        c.dialog.app.dialog_event(c.dialog.name, "unlinked")
        ctx.log.info("member unlinked kakao", extra={"member_id": member.id if member else None})
        return ui.text(ctx, c.t("unlink.done"), [link_quick_reply(ctx), ui.home_quick_reply(ctx)])


class LinkDialog(StepDialog):
    name = "link"
    skill = "link"
    text_area = "link"
    first = "consent"
    undo = True  # nothing is written before the attempt that ends it

    def __init__(self, app) -> None:
        super().__init__(app, [ConsentStep(), MemberNoStep(), NameStep(), MobileStep(), AddressStep(), UnlinkConfirmStep()])

    # -- entry points -----------------------------------------------------------------------
    def open(self, ctx) -> dict:
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if member is not None:
            from bot.dialogs.signup import existing_reply

            return existing_reply(ctx, member)
        if L.attempts_used(ctx.session, ctx.clock, ctx.turn.user_key) >= ctx.settings.link_attempts_per_day:
            ctx.dialog.end()
            return self.limited(ctx)
        return ui.prepend_text(self.begin(ctx), texts.t("link.intro"))

    def open_unlink(self, ctx) -> dict:
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if not L.can_unlink(member):
            return ui.menu_reply(ctx, texts.t("link.unlink.not_available"), member=member is not None)
        return self.begin(ctx, "unlink_confirm")

    def skill_handler(self, ctx) -> dict:
        extra = ctx.turn.client_extra or {}
        if extra.get("action") == "unlink":
            return self.open_unlink(ctx)
        if ctx.dialog.active and ctx.dialog.name == self.name and extra.get("action") != "open":
            return self.start(ctx)
        return self.open(ctx)

    def orphan_tap(self, ctx) -> dict:
        return self.skill_handler(ctx)

    def handle(self, ctx):
        extra = ctx.turn.client_extra or {}
        if extra.get("dialog") == self.name and extra.get("action") in ("open", "unlink"):
            return self.skill_handler(ctx)
        return super().handle(ctx)

    # -- the attempt ------------------------------------------------------------------------
    def limited(self, ctx) -> dict:
        call = ctx.settings.call_centre
        card = TextCard(description=texts.t("link.result.limited", call_centre=call),
                        buttons=[Button.phone(texts.t("link.result.call_label"), call)])
        return ui.reply([card], ui.menu_quick_replies(ctx, member=False))

    def attempt(self, c: Conv) -> dict:
        ctx, s = c.ctx, c.slots
        address = s.get("address")
        parsed = None
        if address:
            from core.local_governments import ParsedAddress

            parsed = ParsedAddress(sido=address["sido"], base=address["base"], detail=address["detail"],
                                   kind=address["kind"])
        turn = ctx.turn
        chat = L.ChatIdentity(user_key=turn.user_key, app_user_id=turn.app_user_id, bot_id=turn.bot_id,
                              plusfriend_user_key=turn.plusfriend_user_key, is_friend=turn.is_friend)
        proof = L.LinkProof(name=s.get("name") or "", mobile=s.get("mobile") or "", member_no=s.get("member_no"),
                            address=parsed)
        consent = {"kakao_link": s.get("consented_at"), "kakao_link_version": c.t("consent.version")}
        result = L.link_member(ctx.session, ctx.cipher, ctx.clock, chat, proof, ctx.settings.link_attempts_per_day,
                               consent=consent)
        ctx.dialog.end()
        self.app.dialog_event(self.name, result.outcome)
        call = ctx.settings.call_centre
        if result.outcome == L.LINKED:
            assert result.member is not None
            ctx.outcome = "completed"
            ctx.log.info("member linked kakao", extra={"member_id": result.member.id})
            return ui.menu_reply(ctx, texts.t("link.result.linked", name=mask_name(result.member.name)), member=True)
        if result.outcome == L.ALREADY_MEMBER:
            from bot.dialogs.signup import existing_reply

            return existing_reply(ctx, result.member)
        if result.outcome == L.LIMITED:
            return self.limited(ctx)
        if result.outcome == L.LINKED_ELSEWHERE:
            card = TextCard(description=texts.t("link.result.linked_elsewhere", call_centre=call),
                            buttons=[Button.phone(texts.t("link.result.call_label"), call)])
            return ui.reply([card], ui.menu_quick_replies(ctx, member=False))
        if result.attempts_left <= 0:
            return self.limited(ctx)
        return ui.text(ctx, texts.t("link.result.no_match", left=result.attempts_left, call_centre=call),
                       [ui.qr(ctx, texts.t("link.result.retry_label"), "link", {"dialog": "link", "action": "open"}),
                        ui.home_quick_reply(ctx)])


def link_dialog(c: Conv) -> LinkDialog:
    if not isinstance(c.dialog, LinkDialog):
        raise TypeError(f"{type(c.dialog).__name__} runs a link step but is not the LinkDialog")
    return c.dialog


def register(app: BotApp) -> None:
    dialog = LinkDialog(app)
    app.add_dialog(dialog)
    app.skill("link")(dialog.skill_handler)

