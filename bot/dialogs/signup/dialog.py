"""The signup dialog (skill `signup`): member type, terms, identity, address, resources,
incentive type, optional items, confirmation. The member exists only after `가입하기`.

Steps and what follows each (the table `after()` encodes; `편집` from the confirmation returns to
it after the edited group):

    member_type -> terms -> name -> mobile -> [householder -> householder_name] -> address
    -> [address_detail] -> billing_mode/customer_number per resource -> incentive_type
    -> [bank -> account_number -> account_holder] -> optional -> [motivation -> floor_area
    -> move_in_date -> email -> referrer] -> confirm -> (member created, dialog ends)
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

from bot import texts, ui
from bot.dialogs import answers
from bot.dialogs.signup import fields as F
from bot.dialogs.signup.machine import (
    Answer,
    ChoiceStep,
    Conv,
    Go,
    Invalid,
    Option,
    Prompt,
    Step,
    TextStep,
    answered_with,
    match_option,
)
from bot.kakao import limits
from bot.kakao.parts import Button, Item, ListItem
from bot.kakao.response import ItemCard, ListCard, SimpleText, TextCard, fit_text
from core import members as M
from core.ages import SELF_CONSENT_AGE, stated_age
from core.clock import kst_date, today_kst, utcnow_naive
from core.models import LocalGovernment
from core.pii import mask_mobile, mask_name

HOUSEHOLD_TYPES = M.HOUSEHOLD_MEMBER_TYPES
EXISTING = "existing"  # "already a member": hands over to the link dialog (bot.dialogs.link)
ORG_TYPES = ("commercial", "public", "school")


def member_type_label(code: str) -> str:
    return texts.t(f"signup.member_type.{code}")


class MemberTypeStep(ChoiceStep):
    name = "member_type"
    question = "member_type.question"
    hint = "member_type.invalid"

    def options(self, c: Conv) -> list[Option]:
        return [*(Option(code, member_type_label(code), answers.words(f"member_type.{code}"))
                  for code in (*M.CHAT_MEMBER_TYPES, *M.WEB_ONLY_MEMBER_TYPES)),
                Option(EXISTING, texts.t("link.start_label"), answers.words(f"member_type.{EXISTING}"))]

    def parse(self, c: Conv, answer: Answer) -> str:
        options = self.options(c)
        if answer.tapped or match_option(options, answer) is not None:
            return super().parse(c, answer)
        # an age typed for the type ("13살이에요", "30대예요"): an individual, or under 14
        age = stated_age(answer.text, today_kst(c.ctx.clock))
        if age is not None:
            settled = age.settles(SELF_CONSENT_AGE)
            if settled is None:
                raise Invalid(c.t("member_type.age_unsure"))
            return "individual" if settled else "individual_under14"
        return super().parse(c, answer)

    def apply(self, c: Conv, value: str):
        if value == EXISTING:  # joined on the website or at the 시·군·구: link KakaoTalk instead
            c.ctx.dialog.end()
            return c.dialog.app.dialogs["link"].open(c.ctx)
        if value in M.WEB_ONLY_MEMBER_TYPES:
            key = "under14" if value == "individual_under14" else "complex"
            c.ctx.dialog.end()
            c.dialog.app.dialog_event(c.dialog.name, f"web_only_{key}")
            card = TextCard(title=c.t(f"member_type.{key}_title"), description=c.t(f"member_type.{key}_body"),
                            buttons=[Button.web_link(c.t("member_type.website_label"), c.ctx.settings.website)])
            return ui.reply([card], ui.menu_quick_replies(c.ctx, member=False))
        c.set(member_type=value)
        return F.host(c).after(c, "member_type")


CONSENT_KEYS = ("terms", "privacy", "third_party")


class Consent(TypedDict):
    required: bool  # terms, privacy and third party, all three
    optional: bool  # the optional (marketing) consent


class TermsStep(Step):
    """Answered by a quick reply like a ChoiceStep, but read as the consents it gives."""

    name = "terms"
    hint = "terms.invalid"
    yes, no = "agree_required", "disagree"

    def options(self, c: Conv) -> list[Option]:
        return [Option(key, c.t(f"terms.{key}"), answers.words(f"terms.{key}"))
                for key in ("agree_all", "agree_required", "disagree")]

    def ask(self, c: Conv) -> Prompt:
        items = []
        for key in (*CONSENT_KEYS, "optional"):
            title = c.t(f"terms.{key}_title")
            items.append(ListItem(title, c.t(f"terms.{key}_desc"), action="message", message_text=title,
                                  extra={"dialog": c.dialog.name, "action": "info", "doc": key}))
        terms_url = c.ctx.settings.terms_url
        card = ListCard(c.t("terms.header"), items, buttons=[Button.web_link(c.t("terms.full_text_label"), terms_url)])
        qrs = [
            c.qr(c.t("terms.agree_all"), "agree_all", optional=True),
            c.qr(c.t("terms.agree_required"), "agree_required", optional=False),
            c.qr(c.t("terms.disagree"), "disagree"),
        ]
        return Prompt([SimpleText(c.t("terms.intro")), card], qrs)

    def parse(self, c: Conv, answer: Answer) -> Consent:
        if answer.tapped:
            extra = answer.extra
            flags = [extra.get(k) for k in CONSENT_KEYS if k in extra]
            if flags and all(isinstance(f, bool) for f in flags) and "value" not in extra:
                required = len(flags) == len(CONSENT_KEYS) and all(flags)
                return {"required": required, "optional": extra.get("optional") is True}
        option = match_option(self.options(c), answer, self.yes, self.no)
        if option is None:
            raise Invalid(c.t(self.hint))
        optional = option.value == "agree_all"
        if answer.tapped and isinstance(answer.extra.get("optional"), bool) and option.value != "disagree":
            optional = answer.extra["optional"]
        return {"required": option.value != "disagree", "optional": optional}

    def apply(self, c: Conv, value: Consent):
        if not value["required"]:
            c.ctx.dialog.end()
            c.dialog.app.dialog_event(c.dialog.name, "terms_declined")
            return ui.menu_reply(c.ctx, c.t("terms.declined"), member=False)
        stamp = utcnow_naive(c.ctx.clock).isoformat(timespec="seconds")
        consents: dict[str, str | bool] = {k: stamp for k in CONSENT_KEYS}
        consents.update(optional=bool(value["optional"]), optional_at=stamp, version=c.t("terms.version"),
                        channel="kakao")
        c.set(consents=consents)
        return F.host(c).after(c, "terms")


def _reads_as_question(c: Conv, text: str) -> bool:
    from bot.dialogs import faq

    typed = c.ctx.turn.utterance or ""
    return "?" in typed or "\uff1f" in typed or faq.match_intent(text) is not None


_KOREAN_NAME = re.compile(r"[\uac00-\ud7a3]{2,5}")  # two to five Hangul syllables


def _not_a_name(text: str, name: str) -> bool:
    """Words that fit the shape of a name and are none: a question word ("왜요"), a yes or no,
    or a word of answers.name.not_names ("몰라요", "닉네임도 돼요")."""
    if answers.asks(text) or answers.yes_no(text) is not None:
        return True
    refused = {answers.squash(w) for w in answers.words("name.not_names")}
    endings = tuple(answers.squash(e) for e in answers.words("endings"))
    tokens = [answers.squash(t) for t in name.split()] + [answers.squash(name)]
    return any(t in refused or any(t.endswith(e) and t[: -len(e)] in refused for e in endings) for t in tokens)


def _framing_notice(c: Conv, name: str) -> str | None:
    """What was taken off a name typed in a sentence ("제 이름은 …이에요"), said back without
    the name itself (names are masked in replies), so the citizen can see how it was read."""
    typed = M.fold(c.ctx.turn.utterance)  # an emoji typed with it was never part of it
    at = typed.find(name)
    if at < 0 or typed == name:
        return None
    words = [w for w in (typed[:at].strip(), typed[at + len(name):].strip()) if w]
    return texts.t("signup.name.framing_dropped", words="', '".join(words)) if words else None


class NameStep(TextStep):
    name = "name"
    later = "signup.name.change_later"
    why = "signup.name.why"
    notes = (("name.real_name", "signup.name.why"),)  # "닉네임도 돼요?"

    def question_text(self, c: Conv) -> str:
        kind = c.slots.get("member_type")
        key = "org" if kind in ORG_TYPES else ("foreigner" if kind == "foreigner" else "individual")
        return c.t(f"name.question_{key}")

    def check(self, c: Conv, text: str) -> str | tuple[str, str]:
        kind = c.slots.get("member_type", "individual")
        if any(ch.isdigit() for ch in text) and "mobile" in c.dialog.steps:
            # "홍길동 010-1234-5678": the name and the next question's answer in one message
            try:
                both = M.name_and_mobile(text, kind)
            except M.InvalidValue as exc:
                if exc.field == "mobile":
                    raise Invalid(c.t("signup.mobile.short_010" if exc.reason == "short_010" else "signup.mobile.invalid")) from None
                raise Invalid(c.t("name.invalid_org" if kind in ORG_TYPES else "name.invalid_person")) from None
            if both is not None and (kind in ORG_TYPES or not _not_a_name(both[0], both[0])):
                return both
        if _reads_as_question(c, text):
            # '고객번호가 뭐예요?' fits the shape of a two-word name: a question mark never belongs
            # to a name, nor does a FAQ question understood with the strict in-dialog score.
            raise Invalid(c.t("name.invalid_org" if kind in ORG_TYPES else "name.invalid_person"))
        try:
            name = M.typed_name(text, kind)
        except M.InvalidValue:
            raise Invalid(c.t("name.invalid_org" if kind in ORG_TYPES else "name.invalid_person")) from None
        if kind not in ORG_TYPES and _not_a_name(text, name):
            raise Invalid(c.t("name.not_a_name"))
        return name

    def apply(self, c: Conv, value: str | tuple[str, str]):
        if isinstance(value, tuple):  # the mobile came with the name: its step takes it at once
            name, mobile = value
            c.set(name=name)
            return answered_with(c, "mobile", mobile, c.t("signup.mobile.taken_with_name", masked=mask_mobile(mobile)))
        c.set(name=value)
        return F.host(c).after(c, "name", _framing_notice(c, value))


class MobileStep(TextStep):
    name = "mobile"
    notes = (("landline", "signup.notes.landline"),)
    changeable = True  # in my info after the dialog
    why = "signup.mobile.why"

    def question_text(self, c: Conv) -> str:
        return c.t("signup.mobile.question_org" if c.slots.get("member_type") in ORG_TYPES else "signup.mobile.question")

    def check(self, c: Conv, text: str) -> str:
        try:
            return M.new_mobile(text)
        except M.InvalidValue as exc:
            key = {"landline": "signup.mobile.landline", "short_010": "signup.mobile.short_010"}.get(
                exc.reason, "signup.mobile.invalid")
            raise Invalid(c.t(key)) from None

    def from_request(self, c: Conv, text: str) -> str | None:
        if not any(ch.isdigit() for ch in text):
            return None
        try:
            return M.new_mobile(text)  # the one mobile of a sentence
        except M.InvalidValue:
            return None

    def apply(self, c: Conv, value: str):
        c.set(mobile=value)
        return F.host(c).after(c, "mobile")


class HouseholderStep(ChoiceStep):
    name = "householder"
    why = "signup.householder.why"
    about, about_words = "signup.householder.about", "about_householder"
    notes = (("householder.not_head", "signup.householder.not_head"),)  # "세대주 아니면 가입 못 해요?"
    changeable = True  # in my info after the dialog
    hint = "signup.householder.invalid"  # the signup's texts in my info too
    yes, no = "self", "other"

    def options(self, c: Conv) -> list[Option]:
        return [Option(key, c.t(f"signup.householder.{key}"), answers.words(f"householder.{key}"))
                for key in ("self", "other")]

    def question_text(self, c: Conv) -> str:
        return c.t("signup.householder.question", name=mask_name(F.host(c).member_name(c)))

    def from_request(self, c: Conv, text: str) -> str | tuple[str, str] | None:
        """The change request's new head ("세대주가 아버지로 바뀌었어요": someone else, asked by
        name next; "세대주가 아버지 김철수로 바뀌었어요": named; "세대주가 저로 바뀌었어요": the
        member); the bare word 세대주 says neither."""
        typed = answers.squash(text)
        if answers.says_any(typed, "householder.someone_else"):
            return self.named_other(text)
        return "self" if answers.says_any(typed, "householder.self_request") else None

    def parse(self, c: Conv, answer: Answer) -> Any:  # an option, or ("other", the name typed with it)
        # "아빠가 세대주예요", "세대주 아님": someone else, though the longer word 세대주 is said
        typed = answers.squash(answer.text)
        if not answer.tapped and answers.says_any(typed, "householder.someone_else"):
            return self.named_other(answer.text)
        try:
            return super().parse(c, answer)
        except Invalid:
            named = None if answer.tapped or answer.asked else self.bare_name(answer.text)
            if named is None:
                raise
            # "김철수": the head named without a yes or no; the member's own name is a yes
            same = answers.squash(named) == answers.squash(F.host(c).member_name(c))
            return "self" if same else ("other", named)

    @staticmethod
    def bare_name(text: str) -> str | None:
        """A Korean name typed alone (two to five syllables, with or without 이요/예요), or None."""
        if any(ch.isdigit() or ch.isascii() and ch.isalpha() for ch in text) or len(text.split()) > 2:
            return None
        try:
            name = M.typed_name(text, "individual")
        except M.InvalidValue:
            return None
        syllables = answers.squash(name)
        typed = answers.squash(text)
        moves = any(answers.says_any(typed, key) for key in ("back", "restart", "stop", "pause", "unsure"))
        if not _KOREAN_NAME.fullmatch(syllables) or _not_a_name(text, name) or answers.looks_like_question(text) \
                or moves or answers.in_words(text, "back_exact") or answers.in_words(text, "skip"):
            return None
        return name

    @staticmethod
    def named_other(text: str) -> str | tuple[str, str]:
        """"other", or ("other", name) when the head is named with the relation ("아버지 김철수예요",
        "남편 박민수요"): what is left without the relation and 세대주 words, if it is a name."""
        rest = text.replace("(", " ").replace(")", " ")
        for word in sorted(answers.words("householder.head_words"), key=len, reverse=True):  # "로 바뀌었어요" first
            rest = rest.replace(word, " ")
        relations = tuple(w for w in answers.words("householder.someone_else") if " " not in w)
        for phrase in (w for w in answers.words("householder.someone_else") if " " in w):  # "my father"
            rest = re.sub(re.escape(phrase), " ", rest, flags=re.IGNORECASE)
        particles = set(answers.words("householder.particles"))  # "아버지 김철수 로": its 로
        # a word that starts with a relation is the relation ("아버지가"); a name holding one stays ("김딸기")
        rest = " ".join(w for w in rest.split() if not w.startswith(relations) and w.strip(",.") not in particles)
        if sum(ch.isalpha() for ch in rest) < 2:
            return "other"
        try:
            return ("other", M.typed_name(rest, "individual"))
        except M.InvalidValue:
            return "other"

    def apply(self, c: Conv, value: str | tuple[str, str]):
        if isinstance(value, tuple):  # named with the answer: nothing more to ask, what was taken said
            c.set(householder="other", head_of_household=value[1])
            return F.host(c).after(c, "householder", c.t("signup.householder.named", name=mask_name(value[1])))
        if value == "other":
            return Go("householder_name")
        c.set(householder="self", head_of_household=None)
        return F.host(c).after(c, "householder")


class HouseholderNameStep(TextStep):
    name = "householder_name"
    why = "signup.householder.why"
    question = "signup.householder.name_question"

    def check(self, c: Conv, text: str) -> str:
        try:
            return M.typed_name(text, "individual")
        except M.InvalidValue:
            raise Invalid(c.t("signup.name.invalid_person")) from None

    def apply(self, c: Conv, value: str):
        c.set(householder="other", head_of_household=value)
        return F.host(c).after(c, "householder")


class OptionalStep(ChoiceStep):
    name = "optional"
    question = "optional.question"
    hint = "optional.invalid"
    yes, no = "yes", "no"

    def options(self, c: Conv) -> list[Option]:
        return [Option(key, c.t(f"optional.{key}"), answers.words(f"optional.{key}")) for key in ("yes", "no")]

    def apply(self, c: Conv, value: str):
        if value == "yes":
            return Go("motivation")
        return F.host(c).after(c, "optional")


class MotivationStep(TextStep):
    why = "signup.optional.why"
    name = "motivation"
    question = "motivation.question"
    skip_label = "signup.skip_label"
    CHOICES = ("environment", "saving", "incentive", "referral")

    def quick_replies(self, c: Conv) -> list:
        return [c.qr(c.t(f"motivation.{k}"), k) for k in self.CHOICES] + [c.qr(c.t("skip_label"), "skip")]

    def parse(self, c: Conv, answer: Answer):
        if answer.tapped and answer.value in self.CHOICES:
            return c.t(f"motivation.{answer.value}")
        return super().parse(c, answer)

    def check(self, c: Conv, text: str):
        try:
            return M.normalise_motivation(text)
        except M.InvalidValue:
            raise Invalid(c.t("motivation.invalid")) from None

    def apply(self, c: Conv, value):
        c.set(motivation=value)
        return Go("floor_area")


class FloorAreaStep(TextStep):
    why = "signup.floor_area.why"
    name = "floor_area"
    question = "floor_area.question"
    skip_label = "signup.skip_label"

    def check(self, c: Conv, text: str):
        try:
            return str(M.parse_floor_area(text))
        except M.InvalidValue as exc:
            raise Invalid(c.t("floor_area.supply" if exc.reason == "supply" else "floor_area.invalid")) from None

    def apply(self, c: Conv, value):
        c.set(floor_area=value)
        return Go("move_in_date")


class MoveInDateStep(TextStep):
    why = "signup.optional.why"
    name = "move_in_date"
    question = "move_in_date.question"
    skip_label = "signup.skip_label"

    def check(self, c: Conv, text: str):
        try:
            return M.parse_move_in_date(text, today_kst(c.ctx.clock)).isoformat()
        except M.InvalidValue:
            raise Invalid(c.t("move_in_date.invalid")) from None

    def apply(self, c: Conv, value):
        c.set(move_in_date=value)
        return Go("email")


class EmailStep(TextStep):
    why = "signup.optional.why"
    name = "email"
    changeable = True  # in my info after the dialog
    question = "email.question"
    skip_label = "signup.skip_label"

    def check(self, c: Conv, text: str):
        try:
            return M.normalise_email(text)
        except M.InvalidValue:
            raise Invalid(c.t("email.invalid")) from None

    def apply(self, c: Conv, value):
        c.set(email=value)
        return Go("referrer")


class ReferrerStep(TextStep):
    why = "signup.optional.why"
    name = "referrer"
    question = "referrer.question"
    skip_label = "signup.skip_label"

    def check(self, c: Conv, text: str):
        try:
            return M.normalise_referrer(text)
        except M.InvalidValue:
            raise Invalid(c.t("referrer.invalid")) from None

    def apply(self, c: Conv, value):
        c.set(referrer=value)
        return F.host(c).after(c, "optional")


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[0]}{'*' * max(1, len(local) - 1)}@{domain}"


class ConfirmStep(ChoiceStep):
    name = "confirm"
    hint = "confirm.invalid"
    yes, no = "join", "edit"  # a no to "is this right?" asks what to change
    confirms = True

    def options(self, c: Conv) -> list[Option]:
        return [Option(key, c.t(f"confirm.{key}"), answers.words(f"confirm.{key}")) for key in ("join", "edit")]

    def parse(self, c: Conv, answer: Answer) -> Any:  # an option, or ("edit", field)
        if not answer.tapped:
            fixes = answers.says_any(answers.squash(answer.text), "confirm.fix")
            no_option = match_option(self.options(c), answer) is None
            # '주소 잘못 썼어요', '전화번호 틀렸어요': that field, without asking what to change
            fields = [o for o in _edit_step(c).options(c) if o.value != "back"]
            field = match_option(fields, answer)
            if field is not None and (fixes or no_option):
                return ("edit", field.value)
            # '틀렸어요', '잘못 입력했어요' naming no field: what to change is asked
            if fixes and no_option and not answer.asked and not answers.looks_like_question(answer.text):
                return "edit"
        return super().parse(c, answer)

    def card(self, c: Conv) -> ItemCard:
        s = c.slots
        kind = s.get("member_type", "individual")
        rows = [(c.t("confirm.type"), member_type_label(kind)),
                (c.t("confirm.name"), mask_name(s.get("name"))),
                (c.t("confirm.mobile"), mask_mobile(s.get("mobile")))]
        if kind in HOUSEHOLD_TYPES:
            holder = c.t("confirm.householder_self") if s.get("householder") != "other" else mask_name(s.get("head_of_household"))
            rows.append((c.t("confirm.householder"), holder))
        address = s.get("address") or {}
        rows.append((c.t("confirm.address"), F.mask_address(address.get("base"), address.get("detail"))))
        for resource in F.rules().resources:
            rows.append((F.resource_label(resource)[:limits.ITEM_TITLE_MAX], F.resource_summary(c, resource)))
        rows.append((c.t("confirm.incentive"), F.incentive_summary(c)))
        rows.append((c.t("confirm.extra"), self.extras(c)))
        items = [Item(title[:limits.ITEM_TITLE_MAX], fit_text(desc or "-", 60)) for title, desc in rows][:limits.ITEM_CARD_ITEMS_MAX]
        buttons = [c.button(c.t("confirm.join"), "join"), c.button(c.t("confirm.edit"), "edit"), c.cancel_button()]
        return ItemCard(item_list=items, head=c.t("confirm.head"), title=c.t("confirm.title"),
                        description=c.t("confirm.description"), item_list_alignment="left", buttons=buttons,
                        button_layout="vertical")

    def extras(self, c: Conv) -> str:
        s = c.slots
        parts = []
        if s.get("motivation"):
            parts.append(c.t("confirm.motivation"))
        if s.get("floor_area"):
            parts.append(c.t("confirm.floor_area", value=s["floor_area"]))
        if s.get("move_in_date"):
            parts.append(c.t("confirm.move_in", value=s["move_in_date"]))
        if s.get("email"):
            parts.append(f"{c.t('confirm.email')} {mask_email(s['email'])}")
        if s.get("referrer"):
            parts.append(c.t("confirm.referrer"))
        marketing = (s.get("consents") or {}).get("optional")
        first = fit_text(", ".join(parts), 40) if parts else c.t("confirm.extra_none")
        return f"{first}\n{c.t('confirm.marketing_yes' if marketing else 'confirm.marketing_no')}"

    def ask(self, c: Conv) -> Prompt:
        qrs = [c.qr(c.t("confirm.join"), "join"), c.qr(c.t("confirm.edit"), "edit")]
        return Prompt([self.card(c)], qrs)

    def apply(self, c: Conv, value):
        if isinstance(value, tuple):
            return _edit_step(c).apply(c, value[1])
        if value == "edit":
            return Go("edit")
        return signup_dialog(c).create(c)


def _edit_step(c: Conv) -> EditStep:
    """The dialog's own edit step (the review hands it the field named there)."""
    step = c.dialog.steps["edit"]
    assert isinstance(step, EditStep)
    return step


EDIT_TARGETS = {
    "name": "name", "mobile": "mobile", "householder": "householder", "address": "address",
    "resources": "billing_mode", "incentive": "incentive_type", "optional": "motivation", "marketing": "marketing",
}


class EditStep(ChoiceStep):
    name = "edit"
    question = "edit.question"
    hint = "edit.invalid"

    def options(self, c: Conv) -> list[Option]:
        keys = ["name", "mobile", "householder", "address", "resources", "incentive", "optional", "marketing", "back"]
        if c.slots.get("member_type") not in HOUSEHOLD_TYPES:
            keys.remove("householder")
        return [Option(k, c.t(f"edit.{k}"), answers.words(f"edit.{k}")) for k in keys]

    def apply(self, c: Conv, value: str):
        if value == "back":
            return Go("confirm")
        c.set(editing=True)
        if value == "resources":
            return F.first_resource_step(c)
        if value == "address":
            c.set(address_detail_asked=False)
        return Go(EDIT_TARGETS[value])


class MarketingStep(ChoiceStep):
    name = "marketing"
    question = "marketing.question"
    hint = "marketing.invalid"
    yes, no = "yes", "no"

    def options(self, c: Conv) -> list[Option]:
        return [Option(key, c.t(f"marketing.{key}"), answers.words(f"marketing.{key}")) for key in ("yes", "no")]

    def apply(self, c: Conv, value: str):
        consents = dict(c.slots.get("consents") or {})
        consents["optional"] = value == "yes"
        consents["optional_at"] = utcnow_naive(c.ctx.clock).isoformat(timespec="seconds")
        c.set(consents=consents)
        return F.host(c).after(c, "marketing")


class SignupDialog(F.FieldsDialog):
    name = "signup"
    skill = "signup"
    text_area = "signup"
    first = "member_type"
    address_question_key = "signup.address.question"
    undo = True  # nothing is written before '가입하기'
    back_key = "signup.common.back"

    def aside(self, ctx, step, text: str) -> dict | None:
        """'이미 회원이에요' mid-signup: a member of the registry links instead of joining again;
        the link is offered and the question kept, nothing typed so far is lost."""
        from bot import understanding
        from bot.dialogs.link import link_quick_reply

        u = understanding.understand(text)
        if u.outcome != "confident" or u.intent != "link":
            return None
        reply = self.render(ctx, step.name, notice=texts.t("signup.common.already_member"))
        qrs = reply["template"].setdefault("quickReplies", [])
        qrs.insert(0, link_quick_reply(ctx).to_dict())
        del qrs[limits.QUICK_REPLIES_MAX:]
        return reply

    def __init__(self, app) -> None:
        steps = [MemberTypeStep(), TermsStep(), NameStep(), MobileStep(), HouseholderStep(), HouseholderNameStep(),
                 *(cls() for cls in F.SHARED_STEPS), OptionalStep(), MotivationStep(), FloorAreaStep(),
                 MoveInDateStep(), EmailStep(), ReferrerStep(), ConfirmStep(), EditStep(), MarketingStep()]
        super().__init__(app, steps)

    # -- what fields.py asks of a dialog ----------------------------------------------------------
    def member_id(self, c: Conv) -> int | None:
        return None

    def member_name(self, c: Conv) -> str:
        return c.slots.get("name") or ""

    def current_local_government(self, c: Conv) -> LocalGovernment | None:
        return None

    def on_seoul(self, c: Conv) -> dict:
        c.ctx.dialog.end()
        self.app.dialog_event(self.name, "seoul")
        return seoul_reply(c.ctx, member=False)

    def after(self, c: Conv, group: str, notice: str | None = None) -> Go | dict:
        """The step after a group of steps; while editing, back to the confirmation."""
        editing = c.slots.get("editing")
        kind = c.slots.get("member_type")
        if editing:
            if group == "address":
                lg = F.local_government(c)
                if c.slots.get("incentive_type") not in M.offered_incentive_types(lg, F.rules()):
                    c.set(incentive_type=None, bank_name=None, account_enc=None, account_masked=None)
                    return Go("incentive_type", notice)
                if F.complex_of(c) is not None:  # the complex decides the resources: set them again
                    return F.first_resource_step(c, notice=notice)
            return self._to_confirm(c, notice)
        if group == "member_type":
            return Go("terms", notice)
        if group == "terms":
            return Go("name", notice)
        if group == "name":
            return Go("mobile", notice)
        if group == "mobile":
            return Go("householder" if kind in HOUSEHOLD_TYPES else "address", notice)
        if group == "householder":
            return Go("address", notice)
        if group == "address":
            return F.first_resource_step(c, notice=notice)
        if group == "resources":
            return Go("incentive_type", notice)
        if group == "incentive":
            return Go("optional", notice)
        return self._to_confirm(c, notice)

    def _to_confirm(self, c: Conv, notice: str | None) -> Go:
        c.set(editing=False)
        return Go("confirm", notice)

    # -- entry points ---------------------------------------------------------------------------
    def skill_handler(self, ctx) -> dict:
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if member is not None:
            return existing_reply(ctx, member)
        if ctx.dialog.active and ctx.dialog.name == self.name:
            return self.start(ctx)
        hours = int(ctx.settings.dialog_ttl.total_seconds() // 3600)
        reply = self.begin(ctx)
        return ui.prepend_text(reply, texts.t("signup.intro", hours=hours))

    def orphan_tap(self, ctx) -> dict:
        member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
        if member is not None:
            return existing_reply(ctx, member)
        if ctx.dialog.active:  # another dialog is running: leave it alone
            return ui.menu_reply(ctx, texts.t("common.session_expired"), member=False)
        extra = ctx.turn.client_extra or {}
        if extra.get("step") == self.first:
            ctx.dialog.begin(self.name, self.first, {})
            self.app.dialog_event(self.name, "started")
            reply = self.handle(ctx)
            # handle answers every tap of its own running dialog; were it not to, ask the question
            return reply if reply is not None else self.render(ctx, self.first)
        return ui.prepend_text(self.begin(ctx), texts.t("common.session_expired"))

    def info_text(self, ctx, extra: dict) -> str | None:
        doc = extra.get("doc")
        if doc in (*CONSENT_KEYS, "optional"):
            return texts.t(f"signup.terms.{doc}_summary")
        return None

    # -- the one write ----------------------------------------------------------------------------
    def create(self, c: Conv):
        s = c.slots
        ctx = c.ctx
        parsed = F.parsed_from_slots(s)
        if parsed is None:  # the address steps come before the confirmation
            c.set(editing=True)
            return Go("address")
        data = M.SignupData(
            member_type=s["member_type"], user_key=ctx.turn.user_key, name=s["name"], mobile=s["mobile"],
            address=parsed, resources=F.resource_choices(c), consents=dict(s.get("consents") or {}),
            marketing_opt_in=bool((s.get("consents") or {}).get("optional")),
            bot_id=ctx.turn.bot_id, app_user_id=ctx.turn.app_user_id,
            plusfriend_user_key=ctx.turn.plusfriend_user_key, is_friend=ctx.turn.is_friend,
            head_of_household=(s.get("head_of_household") if s.get("householder") == "other"
                               else (s["name"] if s["member_type"] in HOUSEHOLD_TYPES else None)),
            incentive_type=s.get("incentive_type"), bank_name=s.get("bank_name"),
            account_number=ctx.cipher.decrypt(s["account_enc"]) if s.get("account_enc") else None,
            account_holder=s["name"] if s.get("account_enc") else None,
            motivation=s.get("motivation"), floor_area=Decimal(s["floor_area"]) if s.get("floor_area") else None,
            move_in_date=date.fromisoformat(s["move_in_date"]) if s.get("move_in_date") else None,
            email=s.get("email"), referrer=s.get("referrer"),
            local_government_code=(s.get("address") or {}).get("lg_code"),
        )
        try:
            member = M.create_member(ctx.session, ctx.cipher, ctx.clock, data, F.rules())
        except M.AlreadyMember as exc:
            ctx.dialog.end()
            return existing_reply(ctx, exc.member)
        except M.HouseholdTaken:
            c.set(editing=True)
            return Go("address", c.t("address.household_taken", call_centre=ctx.settings.call_centre))
        except M.CustomerNumberTaken as exc:
            c.set(editing=True, resource=exc.resource, resource_order=[exc.resource])
            return Go("customer_number", c.t("customer_number.taken", resource=F.resource_label(exc.resource),
                                             call_centre=ctx.settings.call_centre))
        except (M.IncentiveNotOffered, M.AccountRequired):
            c.set(editing=True)
            return Go("incentive_type")
        except M.SeoulAddress:
            return self.on_seoul(c)
        ctx.dialog.end()
        ctx.outcome = "completed"
        self.app.dialog_event(self.name, "completed")
        ctx.log.info("member joined", extra={"member_id": member.id, "member_type": member.member_type})
        half = M.first_evaluated_half(ctx.clock)
        half_text = texts.t("balance.half_name", year=half.year, half=texts.t(f"balance.half_{half.number}"))
        lg_note = "" if member.local_government_code else texts.t(
            "signup.completed_lg_unknown", call_centre=ctx.settings.call_centre)
        body = texts.t("signup.completed", name=mask_name(member.name), half=half_text, lg_note=lg_note)
        return ui.menu_reply(ctx, body, member=True)


def signup_dialog(c: Conv) -> SignupDialog:
    """The dialog running a signup step."""
    if not isinstance(c.dialog, SignupDialog):
        raise TypeError(f"{type(c.dialog).__name__} runs a signup step but is not the SignupDialog")
    return c.dialog


def existing_reply(ctx, member) -> dict:
    joined = kst_date(member.joined_at).isoformat() if member.joined_at else ""
    body = texts.t("signup.existing", name=mask_name(member.name), joined=joined)
    return ui.menu_reply(ctx, body, member=True)


def seoul_reply(ctx, member: bool | None) -> dict:
    from bot.dialogs.greenlife import join_quick_reply, seoul_line, seoul_welcome  # greenlife imports this module

    body = texts.t("signup.address.seoul_body")
    qrs = ui.menu_quick_replies(ctx, member=member)
    if seoul_welcome():  # what a Seoul resident can join here (rules E6)
        body = f"{body}\n{seoul_line()}"
        qrs = [join_quick_reply(ctx), *qrs][:limits.QUICK_REPLIES_MAX]
    card = TextCard(title=texts.t("signup.address.seoul_title"), description=fit_text(body, limits.TEXT_CARD_DESCRIPTION_MAX),
                    buttons=[Button.web_link(texts.t("signup.address.seoul_link_label"), texts.t("signup.address.seoul_url"))])
    return ui.reply([card], qrs)
