"""Steps shared by signup and my info: address, resources (billing mode, customer number),
incentive type, bank account. Each asks, checks and stores the same way in both dialogs; what
comes after a group of steps is the dialog's business (`dialog.after(c, group)`).

Slots written here:
  address: {"base", "detail", "sido", "lg_code"}        (the typed address, canonical)
  resource: the resource being asked (billing_mode / customer_number steps)
  resources: {resource: {"mode", "enc"?, "masked"?}}    (customer numbers encrypted)
  incentive_type, bank_name, account_enc, account_masked
  pending_bank, pending_account_enc, pending_account_masked   (until the holder is confirmed)
Typed answers are read by core's parsers (an address with its unit, a unit alone, an account
with its bank before or after it) and the word lists of bot/texts/ko/answers.toml.
"""
from __future__ import annotations

import re
from typing import Any

from bot.dialogs import answers
from bot.dialogs.signup.machine import (
    Answer,
    ChoiceStep,
    Conv,
    Go,
    Invalid,
    Option,
    Prompt,
    Step,
    StepDialog,
    TextStep,
    match_option,
    squash,
)
from bot.kakao import limits
from bot.kakao.parts import ListItem
from bot.kakao.response import Carousel, ListCard, SimpleText, fit_text
from core import complexes as CX
from core import members as M
from core import utility_companies as UC
from core.clock import today_kst
from core.local_governments import (
    ParsedAddress,
    Unit,
    address_in_sentence,
    infer_sido,
    looks_complete,
    mentions_seoul,
    parse_address,
    parse_unit,
    placement,
    respell_address,
    unit_structure,
)
from core.models import ApartmentComplex, LocalGovernment
from core.pii import mask_name, mask_number

RESOURCE_LABEL_KEYS = {"electricity": "signup.resource.electricity", "water": "signup.resource.water",
                       "gas": "signup.resource.gas"}


def rules():
    from core.rules import default_rules

    return default_rules()


def resource_label(resource: str) -> str:
    from bot import texts

    return texts.t(RESOURCE_LABEL_KEYS.get(resource, "signup.resource.electricity"))


def mask_address(base: str | None, detail: str | None = None) -> str:
    """Numbers shown by their first digit only: '예시로 123 101동 1203호' -> '예시로 1** 1**동 1***호'."""
    text = f"{base or ''} {detail or ''}".strip()
    return re.sub(r"\d+", lambda m: m.group()[0] + "*" * (len(m.group()) - 1), text)


def parsed_from_slots(slots: dict) -> ParsedAddress | None:
    a = slots.get("address")
    if not a:
        return None
    return ParsedAddress(sido=a.get("sido"), base=a["base"], detail=a.get("detail") or "", kind=a.get("kind", "road"))


def incentive_label(code: str | None) -> str:
    from bot import texts

    code = code or rules().default_incentive_type
    if texts.current() != texts.DEFAULT_LANGUAGE:  # the rules name them in Korean only
        try:
            return texts.t(f"signup.incentive.short.{code}")
        except KeyError:
            pass
    labels = rules().incentive_types
    return labels.get(code, labels.get(rules().default_incentive_type, code))


def bank_label(name: str) -> str:
    """A bank's name as the reply's language writes it (its official Korean name by default)."""
    from bot import texts

    if name and texts.current() != texts.DEFAULT_LANGUAGE:
        return texts.raw("signup.bank.quick").get(name, name)
    return name


def billing_label(mode: str) -> str:
    from bot import texts

    return texts.t(f"signup.billing.{mode}")


class FieldsDialog(StepDialog):
    """A dialog whose table holds the shared steps: the hooks those steps call on it."""

    address_question_key: str  # text key of the address question

    def member_id(self, c: Conv) -> int | None:
        """The member whose own household and customer numbers do not count as taken."""
        raise NotImplementedError

    def member_name(self, c: Conv) -> str:
        """The name an account must be held in."""
        raise NotImplementedError

    def current_local_government(self, c: Conv) -> LocalGovernment | None:
        """The local government when no address was given in this dialog."""
        raise NotImplementedError

    def on_seoul(self, c: Conv) -> dict | Go:
        """The reply to a Seoul address (the programme does not cover Seoul)."""
        raise NotImplementedError

    def after(self, c: Conv, group: str, notice: str | None = None) -> Go | dict:
        """What follows a group of steps ("address", "resources", "incentive", ...)."""
        raise NotImplementedError


def host(c: Conv) -> FieldsDialog:
    """The dialog running a shared step."""
    if not isinstance(c.dialog, FieldsDialog):
        raise TypeError(f"{type(c.dialog).__name__} runs the shared field steps but is not a FieldsDialog")
    return c.dialog


# --- address -----------------------------------------------------------------------------------

class AddressStep(TextStep):
    name = "address"
    notes = (("not_registered_address", "notes.not_registered_address"),  # the dialog's own text
             ("address_how", "signup.notes.address_how"))
    changeable = True  # in my info after the dialog
    why = "signup.address.why"
    question = "signup.address.question"

    def question_text(self, c: Conv) -> str:
        return c.t(host(c).address_question_key)

    def quick_replies(self, c: Conv) -> list:
        qrs = [c.action_qr(c.t("signup.address.faq_label"), "faq", intent="seoul_resident",
                           text=c.t("signup.address.faq_text"))]
        if c.slots.get("household_refused"):
            qrs.insert(0, c.qr(c.t("signup.address.dispute_label"), "dispute"))
        return qrs

    def parse(self, c: Conv, answer: Answer):
        if c.slots.get("household_refused") and (
                answer.value == "dispute" or squash(answer.text) == squash(c.t("signup.address.dispute_label"))):
            return "dispute"
        return super().parse(c, answer)

    def check(self, c: Conv, text: str):
        text = address_in_sentence(text)  # "경기도 … 123이에요": the sentence is not the unit
        if mentions_seoul(text):
            _keep_seoul_address(c, parse_address(text))
            return "seoul"
        # "수원 영통구 ...", "경기도수원시영통구예시로123": the 시/도 and 시군구 written out first
        parsed = parse_address(respell_address(c.ctx.session, text))
        if parsed is None:
            raise Invalid(c.t("signup.address.invalid"))
        parsed = infer_sido(c.ctx.session, parsed)
        if parsed.is_seoul:
            _keep_seoul_address(c, parsed)
            return "seoul"
        if not looks_complete(parsed):
            raise Invalid(c.t("signup.address.incomplete"))
        if len(parsed.base) > 200 or len(parsed.detail) > 100:
            raise Invalid(c.t("signup.address.too_long"))
        unit = (parse_unit(parsed.detail) or unit_structure(parsed.detail).text) if parsed.detail else None
        if unit:  # the unit typed on the same line, in the one spelling the unit step gives
            parsed = ParsedAddress(sido=parsed.sido, base=parsed.base, detail=unit, kind=parsed.kind)
        return parsed

    def from_request(self, c: Conv, text: str) -> ParsedAddress | None:
        """The address after the words of the request ("이사했어요 새 주소는 경기 성남시 분당구
        판교역로 235"): the longest tail of the text that reads as a complete address outside
        Seoul (a Seoul address is left for the question, which explains what moving there means)."""
        if not any(ch.isdigit() for ch in text):  # an address has a road or lot number
            return None
        words = text.split()
        for start in range(min(len(words), 8)):
            tail = " ".join(words[start:])
            if mentions_seoul(tail):
                return None
            try:
                value = self.check(c, tail)
            except Invalid:
                continue
            if isinstance(value, ParsedAddress):
                return value
        return None

    def apply(self, c: Conv, value):
        if value == "seoul":
            return host(c).on_seoul(c)
        if value == "dispute":
            return queue_dispute(c)
        cx = CX.find_complex(c.ctx.session, value)
        if cx is not None:  # a registered complex, typed in its road or its lot form
            return enter_complex(c, cx, value.detail)
        c.set(address={"base": value.base, "detail": value.detail, "sido": value.sido, "kind": value.kind},
              address_detail_asked=bool(value.detail))
        if not value.detail:
            return Go("address_detail")
        return finish_address(c)


def _keep_seoul_address(c: Conv, parsed: ParsedAddress | None) -> None:
    """A Seoul address typed in full is kept for the dialog's reply (my info's move records it
    when the member leaves for Seoul); a bare "서울 살아요" keeps nothing."""
    if parsed is not None and parsed.is_seoul and len(parsed.base) <= 200 and len(parsed.detail) <= 100:
        c.set(seoul_address={"base": parsed.base, "detail": parsed.detail, "sido": parsed.sido, "kind": parsed.kind})


class AddressDetailStep(TextStep):
    name = "address_detail"
    why = "signup.address.detail_why"
    changeable = True  # in my info after the dialog
    question = "signup.address.detail_question"

    def quick_replies(self, c: Conv) -> list:
        return [c.qr(c.t("signup.address.no_unit_label"), "none")]

    def parse(self, c: Conv, answer: Answer):
        if (answer.value == "none" or squash(answer.text) == squash(c.t("signup.address.no_unit_label"))
                or answers.in_words(answer.text, "no_unit") or answers.yes_no(answer.text) is False):
            return ""
        if (not answer.tapped and not any(ch.isdigit() for ch in answer.text) and not answer.asked
                and answers.says_any(squash(answer.text), "no_unit")):
            return ""  # "없어요 단독주택이에요", "저희는 주택이라 동호수 없어요": no unit, in a sentence
        if answer.tapped:
            raise Invalid(c.t("signup.address.detail_invalid"))
        return self.check(c, answer.text)

    def check(self, c: Conv, text: str):
        unit = parse_unit(text) or unit_structure(text).text or None
        if unit is None:
            raise Invalid(c.t("signup.address.detail_invalid"))
        return unit

    def apply(self, c: Conv, value):
        address = dict(c.slots.get("address") or {})
        address["detail"] = value
        c.set(address=address)
        return finish_address(c)


# --- a unit of a registered complex ------------------------------------------------------------------
# The address becomes the complex's road address and the unit its 동 and 호, whichever form was
# typed: the road and lot forms of one unit are one household.

def complex_of(c: Conv) -> ApartmentComplex | None:
    code = (c.slots.get("address") or {}).get("complex")
    return c.ctx.session.get(ApartmentComplex, code) if code else None


def enter_complex(c: Conv, cx: ApartmentComplex, detail: str | None):
    road = CX.road_form(cx)
    c.set(address={"base": road.base, "detail": "", "sido": road.sido, "kind": "road", "complex": cx.code},
          address_detail_asked=True, complex_dong=None)
    unit = unit_structure(detail) if detail else Unit()
    dong = CX.normalise_dong(unit.dong) if unit.dong else None
    if dong is not None and dong in (cx.dongs or []):
        if unit.ho and CX.normalise_ho(unit.ho):
            return set_complex_unit(c, dong, str(CX.normalise_ho(unit.ho)))
        c.set(complex_dong=dong)
        return Go("complex_ho")
    return Go("complex_dong")


def set_complex_unit(c: Conv, dong: str, ho: str):
    address = dict(c.slots.get("address") or {})
    address.update(detail=Unit(dong=dong, ho=ho).text, dong=dong, ho=ho)
    c.set(address=address, complex_dong=dong)
    return finish_address(c)


def _dongs_text(dongs: list[str]) -> str:
    return ", ".join(Unit(dong=d).text for d in dongs)


class ComplexDongStep(Step):
    """The 동 of a registered complex: quick replies, a carousel of list cards when there are
    more than quick replies can hold, or typed when even those cannot (Kakao's limits)."""

    name = "complex_dong"
    why = "signup.address.detail_why"
    QUICK_MAX = limits.QUICK_REPLIES_MAX - 1  # the dialog's cancel takes one
    PER_CARD = limits.LIST_CARD_ITEMS_CAROUSEL_MAX
    CARDS_MAX = min(limits.CAROUSEL_LIST_CARD_ITEMS_MAX, limits.CAROUSEL_ITEMS_MAX)

    def _item(self, c: Conv, dong: str) -> ListItem:
        label = Unit(dong=dong).text
        extra = c.extra(self.name, dong)
        block_id = c.ctx.settings.block_ids.get(c.dialog.skill)
        if block_id:
            return ListItem(label, action="block", block_id=block_id, message_text=label, extra=extra)
        return ListItem(label, action="message", message_text=label, extra=extra)

    def ask(self, c: Conv) -> Prompt:
        cx = complex_of(c)
        dongs = list(cx.dongs or []) if cx else []
        name = cx.name if cx else ""
        if len(dongs) <= self.QUICK_MAX:
            qrs = [c.qr(Unit(dong=d).text, d) for d in dongs]
            return Prompt([SimpleText(c.t("signup.complex.dong_question", name=name))], qrs)
        if len(dongs) <= self.PER_CARD * self.CARDS_MAX:
            cards = []
            for i in range(0, len(dongs), self.PER_CARD):
                part = dongs[i:i + self.PER_CARD]
                header = c.t("signup.complex.dong_card", first=Unit(dong=part[0]).text, last=Unit(dong=part[-1]).text)
                cards.append(ListCard(header, [self._item(c, d) for d in part]))
            return Prompt([SimpleText(c.t("signup.complex.dong_question_list", name=name)), Carousel(cards)])
        text = c.t("signup.complex.dong_question_typed", name=name, dongs=_dongs_text(dongs))
        return Prompt([SimpleText(fit_text(text, limits.SIMPLE_TEXT_MAX))])

    def parse(self, c: Conv, answer: Answer):
        cx = complex_of(c)
        dongs = list(cx.dongs or []) if cx else []
        if answer.tapped:
            if answer.value in dongs:
                return answer.value, None
        else:
            dong = CX.normalise_dong(answer.text)
            if dong in dongs:
                return dong, None
            unit = unit_structure(answer.text)
            dong = CX.normalise_dong(unit.dong) if unit.dong else None
            if dong in dongs:
                return dong, CX.normalise_ho(unit.ho) if unit.ho else None
        raise Invalid(c.t("signup.complex.dong_invalid", dongs=fit_text(_dongs_text(dongs), 600)))

    def apply(self, c: Conv, value):
        dong, ho = value
        if ho:
            return set_complex_unit(c, dong, ho)
        c.set(complex_dong=dong)
        return Go("complex_ho")


class ComplexHoStep(TextStep):
    """The 호: '1203호', '1203', '101-1203' (a 동 of the complex typed with it wins), full width."""

    name = "complex_ho"
    why = "signup.address.detail_why"

    def question_text(self, c: Conv) -> str:
        return c.t("signup.complex.ho_question", dong=Unit(dong=c.slots.get("complex_dong") or "").text)

    def quick_replies(self, c: Conv) -> list:
        return [c.qr(c.t("signup.complex.other_dong_label"), "back")]

    def parse(self, c: Conv, answer: Answer):
        if answer.value == "back" or squash(answer.text) == squash(c.t("signup.complex.other_dong_label")):
            return "back"
        return super().parse(c, answer)

    def check(self, c: Conv, text: str):
        cx = complex_of(c)
        dongs = list(cx.dongs or []) if cx else []
        unit = unit_structure(text)
        dong = c.slots.get("complex_dong")
        if unit.dong:
            typed = CX.normalise_dong(unit.dong)
            if typed not in dongs:
                raise Invalid(c.t("signup.complex.dong_invalid", dongs=fit_text(_dongs_text(dongs), 600)))
            dong = typed
        ho = CX.normalise_ho(unit.ho) if unit.ho else None
        if ho is None or unit.floor and not unit.ho:
            raise Invalid(c.t("signup.complex.ho_invalid"))
        return dong, ho

    def apply(self, c: Conv, value):
        if value == "back":
            return Go("complex_dong")
        dong, ho = value
        return set_complex_unit(c, dong, ho)


def finish_address(c: Conv):
    """Household check (E1) and the 시군구; then whatever the dialog does after an address."""
    parsed = parsed_from_slots(c.slots)
    if parsed is None:  # the address steps store one before coming here
        return Go("address")
    ctx = c.ctx
    exclude = host(c).member_id(c)
    user_key = ctx.turn.user_key
    call_centre = ctx.settings.call_centre
    # After HOUSEHOLD_REFUSALS_PER_DAY refusals no address is checked today: the answer is then
    # the same whether a household has joined or not.
    if user_key and M.household_refusals(ctx.session, ctx.clock, user_key) >= ctx.settings.household_refusals_per_day:
        c.set(household_refused=False)
        if c.step != "address":
            ctx.dialog.goto("address")
        c.dialog.app.dialog_event(c.dialog.name, "household_limit")
        return c.dialog.failed(ctx, c.dialog.steps["address"],
                               c.t("signup.address.household_limit", call_centre=call_centre))
    if M.household_taken(ctx.session, ctx.cipher, parsed, exclude_member_id=exclude):
        if user_key:
            M.count_household_refusal(ctx.session, ctx.clock, user_key)
        c.set(household_refused=True)
        if c.step != "address":
            ctx.dialog.goto("address")
        c.dialog.app.dialog_event(c.dialog.name, "household_refused")
        return c.dialog.failed(ctx, c.dialog.steps["address"],
                               c.t("signup.address.household_taken", call_centre=call_centre))
    c.set(household_refused=False)
    lg, choices = placement(c.ctx.session, parsed, today_kst(ctx.clock))
    address = dict(c.slots["address"])
    address["lg_code"] = lg.code if lg else None
    c.set(address=address)
    if choices:  # a 구 that a reorganisation split, the address not saying which side
        c.set(sigungu_choices=[choice.code for choice in choices])
        return Go("address_sigungu")
    notice = None if lg else c.t("signup.address.lg_unknown")
    return host(c).after(c, "address", notice=notice)


def _short_name(name: str) -> str:
    """A 구's name as typed without its last syllable (검단구 -> 검단), if two are left."""
    name = squash(name)
    return name[:-1] if len(name) >= 3 else name


class SuccessorChoiceStep(Step):
    """Which successor of a split 구 the citizen lives in, when what they typed does not say
    (인천 서구 with a road name: the road does not tell 서해구 from 검단구): quick replies, or typed
    with or without 구 ("검단", "검단구요", "인천 검단구"). The dialog says where the choices are
    (`choice_codes`) and what a choice does (`chosen`)."""

    question_key = "signup.address.sigungu_question"

    def choice_codes(self, c: Conv) -> list[str]:
        raise NotImplementedError

    def chosen(self, c: Conv, code: str) -> Go | dict:
        raise NotImplementedError

    def _choices(self, c: Conv) -> list[LocalGovernment]:
        found = (c.ctx.session.get(LocalGovernment, code) for code in self.choice_codes(c))
        return [lg for lg in found if lg is not None]

    def ask(self, c: Conv) -> Prompt:
        choices = self._choices(c)
        names = ", ".join(lg.name for lg in choices)
        return Prompt([SimpleText(c.t(self.question_key, choices=names))],
                      [c.qr(lg.name, lg.code) for lg in choices])

    def parse(self, c: Conv, answer: Answer):
        choices = self._choices(c)
        if answer.tapped and answer.value in {lg.code for lg in choices}:
            return answer.value
        typed = squash(answer.text)
        hits = [lg for lg in choices if _short_name(lg.name) in typed]
        # "검단구가 어디예요?" names one but chooses none: the dialog answers it if it can
        if len(hits) == 1 and not answers.looks_like_question(answer.text):
            return hits[0].code
        raise Invalid(c.t("signup.address.sigungu_invalid", choices=", ".join(lg.name for lg in choices)))

    def apply(self, c: Conv, value):
        return self.chosen(c, value)


class AddressSigunguStep(SuccessorChoiceStep):
    name = "address_sigungu"

    def choice_codes(self, c: Conv) -> list[str]:
        return c.slots.get("sigungu_choices") or []

    def chosen(self, c: Conv, code: str):
        address = dict(c.slots.get("address") or {})
        address["lg_code"] = code
        c.set(address=address, sigungu_choices=None)
        return host(c).after(c, "address")


def queue_dispute(c: Conv) -> dict:
    """'The member at this household is not me': the refused address goes to the operators'
    queue and the dialog ends with the call centre (nothing about the member is said)."""
    from bot import ui

    parsed = parsed_from_slots(c.slots)
    ctx = c.ctx
    if parsed is not None:
        M.queue_household_dispute(ctx.session, ctx.cipher, ctx.clock, parsed, user_key=ctx.turn.user_key,
                                  mobile=c.slots.get("mobile"))
    c.dialog.app.dialog_event(c.dialog.name, "household_dispute")
    ctx.dialog.end()
    return ui.reply([SimpleText(c.t("signup.address.dispute_queued", call_centre=ctx.settings.call_centre))],
                    [ui.home_quick_reply(ctx)])


def local_government(c: Conv) -> LocalGovernment | None:
    code = (c.slots.get("address") or {}).get("lg_code")
    if code is None and "address" not in c.slots:
        return host(c).current_local_government(c)
    return c.ctx.session.get(LocalGovernment, code) if code else None


# --- resources -----------------------------------------------------------------------------------

def first_resource_step(c: Conv, resources: list[str] | None = None, notice: str | None = None):
    cx = complex_of(c) if resources is None else None
    if cx is not None:
        return complex_resources(c, cx, notice)
    order = resources or list(rules().resources)
    c.set(resource=order[0], resource_order=order, resources_from_complex=False)
    return Go("billing_mode", notice)


def complex_resources(c: Conv, cx: ApartmentComplex, notice: str | None = None):
    """A registered complex's resources: billed in the management fee -> set with the billing
    company, not supplied -> not used, billed separately -> the customer number is asked."""
    asked, managed = [], []
    for resource in rules().resources:
        spec = (cx.resources or {}).get(resource) or {}
        mode = spec.get("mode")
        if mode == CX.MANAGED:
            _store_resource(c, resource, {"mode": "managed_fee", "complex": cx.code, "company": spec.get("company")})
            managed.append(f"{resource_label(resource)}({spec.get('company')})")
        elif mode == CX.NONE and resource != "electricity":
            _store_resource(c, resource, {"mode": "not_used"})
        else:
            asked.append(resource)
    lines = [notice] if notice else []
    if managed:
        lines.append(c.t("signup.complex.managed_set", resources=", ".join(managed)))
    note = "\n".join(lines) or None
    if not asked:
        return host(c).after(c, "resources", notice=note)
    c.set(resource=asked[0], resource_order=asked, resources_from_complex=True)
    return ask_number(c, note)


def next_resource(c: Conv, done: str, notice: str | None = None):
    order = c.slots.get("resource_order") or list(rules().resources)
    later = order[order.index(done) + 1:] if done in order else []
    if later:
        c.set(resource=later[0])
        if c.slots.get("resources_from_complex"):
            return ask_number(c, notice)
        return Go("billing_mode", notice)
    return host(c).after(c, "resources", notice=notice)


def _store_resource(c: Conv, resource: str, entry: dict) -> None:
    resources = dict(c.slots.get("resources") or {})
    resources[resource] = entry
    c.set(resources=resources)


class BillingModeStep(ChoiceStep):
    name = "billing_mode"
    why = "signup.billing.why"
    about, about_words = "signup.billing.about", "about_billing"
    changeable = True  # in my info after the dialog
    hint = "signup.billing.invalid"

    def tap_matches(self, c: Conv, extra: dict) -> bool:
        return extra.get("step") == self.name and extra.get("resource", c.slots.get("resource")) == c.slots.get("resource")

    def options(self, c: Conv) -> list[Option]:
        resource = c.slots.get("resource")
        modes = ("managed_fee", "separate") if resource == "electricity" else ("managed_fee", "separate", "not_used")
        return [Option(mode, c.t(f"signup.billing.{mode}"), answers.words(f"billing.{mode}")) for mode in modes]

    def ask(self, c: Conv) -> Prompt:
        resource = c.slots.get("resource")
        qrs = [c.qr(o.label, o.value, resource=resource) for o in self.options(c)]
        text = c.t(f"signup.billing.question_{resource}")
        return Prompt([SimpleText(text)], qrs)

    def parse(self, c: Conv, answer: Answer) -> Any:  # a mode, or ("separate", typed number)
        option = match_option(self.options(c), answer)
        if option is None and not answer.tapped and self.typed_number(c, answer.text):
            # the customer number itself ('0419283746'): a bill of one's own, and its number
            return ("separate", answer.text)
        if option is None:
            resource = c.slots.get("resource")
            key = "signup.billing.invalid_electricity" if resource == "electricity" else self.hint
            if resource in ("gas", "water") and answers.says_any(answers.squash(answer.text), f"billing.other_fuel_{resource}"):
                key = f"signup.billing.other_fuel_{resource}"  # "지역난방이에요": not city gas; what to choose
            raise Invalid(c.t(key))
        return option.value

    def from_request(self, c: Conv, text: str):
        """What the change request says of the resource it named: its own bill's number ("수도
        고객번호 1234567로 바꿔줘"), or no longer used ("가스는 이제 안 써요")."""
        if sum(ch.isdigit() for ch in text) >= 5:
            step = c.dialog.steps.get("customer_number")
            if not isinstance(step, CustomerNumberStep):
                return None
            try:
                step.check(c, text)
            except Invalid:
                return None
            return ("separate", text)
        modes = {o.value for o in self.options(c)}
        typed = answers.squash(text)
        return "not_used" if "not_used" in modes and answers.says_any(typed, "billing.not_used") else None

    @staticmethod
    def typed_number(c: Conv, text: str) -> bool:
        if sum(ch.isdigit() for ch in text or "") < 5:
            return False
        try:
            M.normalise_customer_number(c.slots.get("resource") or "", text, rules())
        except M.InvalidValue:
            return False
        return True

    def apply(self, c: Conv, value: str | tuple[str, str]):
        resource = c.slots["resource"]
        if isinstance(value, tuple):  # the number typed for the mode: checked as if asked for it
            go = ask_number(c)
            if go.step != "customer_number":  # the company first, then the number again
                return Go(go.step, c.t("signup.billing.number_after_company"))
            step = c.dialog.steps["customer_number"]  # the dialog's own step, its checks
            assert isinstance(step, CustomerNumberStep)
            try:
                number = step.check(c, value[1])
            except Invalid as bad:
                return Go("customer_number", bad.hint)
            return step.apply(c, number)
        if value == "separate":
            return ask_number(c)
        _store_resource(c, resource, {"mode": value})
        return next_resource(c, resource)


# --- utility company ----------------------------------------------------------------------------

def region_companies(c: Conv, resource: str) -> list[UC.Company]:
    """The companies supplying `resource` in the member's 시·군·구 (core/data/utility_companies.toml)."""
    lg = local_government(c)
    return UC.serving(resource, lg.code if lg else None)


def _set_utility(c: Conv, resource: str, code: str | None) -> None:
    utilities = dict(c.slots.get("utilities") or {})
    utilities[resource] = code
    c.set(utilities=utilities)


def ask_number(c: Conv, notice: str | None = None) -> Go:
    """Before a customer number: the company billing it, chosen from the address where one
    company serves the region, asked where several do."""
    resource = c.slots["resource"]
    companies = region_companies(c, resource)
    if len(companies) > 1:
        return Go("utility_company", notice)
    _set_utility(c, resource, companies[0].code if companies else None)
    return Go("customer_number", notice)


class UtilityCompanyStep(ChoiceStep):
    """Which of the region's companies bills this resource (quick replies of their names)."""

    name = "utility_company"

    def tap_matches(self, c: Conv, extra: dict) -> bool:
        return extra.get("step") == self.name and extra.get("resource", c.slots.get("resource")) == c.slots.get("resource")

    def options(self, c: Conv) -> list[Option]:
        companies = region_companies(c, c.slots.get("resource") or "")
        return [Option(co.code, co.name[:limits.QUICK_REPLY_LABEL_MAX], (co.name, co.code))
                for co in companies[:limits.QUICK_REPLIES_MAX]]

    def ask(self, c: Conv) -> Prompt:
        resource = c.slots.get("resource") or ""
        qrs = [c.qr(o.label, o.value, resource=resource) for o in self.options(c)]
        return Prompt([SimpleText(c.t("signup.utility_company.question", resource=resource_label(resource)))], qrs)

    def parse(self, c: Conv, answer: Answer) -> str:
        options = self.options(c)
        option = match_option(options, answer)
        if option is None:
            raise Invalid(c.t("signup.utility_company.invalid", resource=resource_label(c.slots.get("resource") or ""),
                              companies=", ".join(o.label for o in options)))
        return option.value

    def apply(self, c: Conv, value: str):
        _set_utility(c, c.slots["resource"], value)
        return Go("customer_number")


class CustomerNumberStep(TextStep):
    name = "customer_number"
    changeable = True  # in my info after the dialog
    why = "signup.customer_number.why"
    topic_faq = "customer_number_where"

    def tap_matches(self, c: Conv, extra: dict) -> bool:
        return extra.get("step") == self.name and extra.get("resource", c.slots.get("resource")) == c.slots.get("resource")

    def question_text(self, c: Conv) -> str:
        return c.t(f"signup.customer_number.question_{c.slots.get('resource')}")

    def quick_replies(self, c: Conv) -> list:
        resource = c.slots.get("resource")
        return [c.action_qr(c.t("signup.customer_number.where_label"), "faq", intent="customer_number_where",
                            text=c.t("signup.customer_number.where_text")),
                c.qr(c.t("signup.customer_number.back_label"), "back", resource=resource)]

    def parse(self, c: Conv, answer: Answer):
        if answer.value == "back" or squash(answer.text) in {squash(c.t("signup.customer_number.back_label"))}:
            return "back"
        if answer.tapped:
            raise Invalid(self.question_text(c))
        if not any(ch.isdigit() for ch in answer.text) and answers.says_any(answers.squash(answer.text),
                                                                             "customer_number_unknown"):
            # "몰라요", "고지서가 없어요": where to find it and what to choose meanwhile, not its format
            raise Invalid(c.t(f"signup.customer_number.unknown_{c.slots['resource']}"))
        return self.check(c, answer.text)

    def check(self, c: Conv, text: str):
        resource = c.slots["resource"]  # set with the billing mode step that leads here
        try:
            number = M.normalise_customer_number(resource, text, rules())
        except M.InvalidValue:
            raise Invalid(c.t(f"signup.customer_number.invalid_{resource}")) from None
        if M.customer_number_taken(c.ctx.session, c.ctx.cipher, resource, number,
                                   exclude_member_id=host(c).member_id(c),
                                   company=(c.slots.get("utilities") or {}).get(resource)):
            raise Invalid(c.t("signup.customer_number.taken", resource=resource_label(resource),
                              call_centre=c.ctx.settings.call_centre))
        return number

    def apply(self, c: Conv, value):
        resource = c.slots["resource"]
        if value == "back":
            return Go("billing_mode")
        masked = mask_number(value)
        _store_resource(c, resource, {"mode": "separate", "enc": c.ctx.cipher.encrypt(value), "masked": masked,
                                      "utility": (c.slots.get("utilities") or {}).get(resource)})
        return next_resource(c, resource, notice=c.t("signup.customer_number.accepted",
                                                     resource=resource_label(resource), masked=masked))


def resource_choices(c: Conv, only: list[str] | None = None) -> list[M.ResourceChoice]:
    """The slots' resources as core choices (customer numbers decrypted for the core call)."""
    out = []
    address = c.slots.get("address") or {}
    for resource, entry in (c.slots.get("resources") or {}).items():
        if only is not None and resource not in only:
            continue
        number = c.ctx.cipher.decrypt(entry["enc"]) if entry.get("enc") else None
        unit = None
        if entry.get("complex") and entry["complex"] == address.get("complex") and address.get("ho"):
            unit = CX.ComplexUnit(entry["complex"], address["dong"], address["ho"])
        out.append(M.ResourceChoice(resource=resource, billing_mode=entry["mode"], customer_number=number,
                                    unit=unit, company=entry.get("company") if unit else None,
                                    utility=entry.get("utility") if number else None))
    return out


def resource_summary(c: Conv, resource: str) -> str:
    entry = (c.slots.get("resources") or {}).get(resource)
    if not entry:
        return c.t("signup.billing.not_used")
    if entry["mode"] == "separate":
        text = f"{billing_label('separate')} {entry.get('masked', '')}".strip()
        company = entry.get("utility")
        if company and len(UC.companies_for(resource)) > 1:  # KEPCO goes without saying
            text += f" ({UC.company_name(resource, company)})"
        return text
    if entry.get("company"):
        return f"{billing_label(entry['mode'])} ({entry['company']})"
    return billing_label(entry["mode"])


# --- incentive type and account ----------------------------------------------------------------

SHORT_LABEL_KEYS = "signup.incentive.short"


class IncentiveStep(ChoiceStep):
    name = "incentive_type"
    why = "signup.incentive.why"
    notes = (("incentive_notes.where", "signup.incentive.where_used"),)  # "지역화폐는 어디서 써요?"
    changeable = True  # in my info after the dialog
    hint = "signup.incentive.invalid"

    def options(self, c: Conv) -> list[Option]:
        from bot import texts

        short = texts.raw(SHORT_LABEL_KEYS)
        return [Option(code, short.get(code, incentive_label(code))[:14],
                       (incentive_label(code), *answers.words(f"incentive.{code}")))
                for code in M.offered_incentive_types(local_government(c), rules())]

    def from_request(self, c: Conv, text: str) -> str | M.BankAccount | None:
        """The way named by the request that opened the change ("기부로 할래요", "받는 방법
        지역화폐로 바꿔줘"), or cash to the account it names ("받는 방법 신한 110-123-456789로
        바꿔줘"); a denied or contrasted way is read as match_option reads it."""
        account = M.account_in_sentence(text)
        if account is not None and any(o.value == M.CASH for o in self.options(c)):
            return account
        try:
            return self.parse(c, Answer(text, {}, False))
        except Invalid:
            return None

    def parse(self, c: Conv, answer: Answer):
        options = self.options(c)
        if not answer.tapped and any(o.value == M.CASH for o in options):
            account = typed_account(c, answer.text)
            if account is not None and account.bank:  # a bank and its account number: cash to it
                return account
        option = match_option(options, answer)
        if option is None:
            raise Invalid(c.t(self.hint))
        return option.value

    def question_text(self, c: Conv) -> str:
        lg = local_government(c)
        lines = [f"• {incentive_label(o.value)}" for o in self.options(c)]
        where = f"{lg.sido} {lg.name}" if lg and lg.name != lg.sido else (lg.name if lg else c.t("signup.incentive.unknown_lg"))
        return c.t("signup.incentive.question", where=where, options="\n".join(lines),
                   default=incentive_label(rules().default_incentive_type))

    def apply(self, c: Conv, value):
        if isinstance(value, M.BankAccount):
            return store_pending_account(c, value.bank, value.number)
        if value == M.CASH:
            return Go("bank")
        c.set(incentive_type=value, bank_name=None, account_enc=None, account_masked=None)
        return host(c).after(c, "incentive")


class BankStep(ChoiceStep):
    name = "bank"
    notes = (("account_holder.family_question", "signup.account.family"),)  # "가족 계좌는 안 돼요?"
    changeable = True  # in my info after the dialog
    why = "signup.account.why"
    question = "signup.bank.question"
    hint = "signup.bank.invalid"

    def options(self, c: Conv) -> list[Option]:
        from bot import texts

        return [Option(name, label) for name, label in texts.raw("signup.bank.quick").items()]

    def parse(self, c: Conv, answer: Answer):
        account = None if answer.tapped else typed_account(c, answer.text)
        if account is not None:  # the bank and its account number in one message
            if account.bank is None:
                raise Invalid(c.t("signup.bank.number_only"))
            return account
        option = match_option(self.options(c), answer)
        if option is not None:
            return M.normalise_bank(option.value)
        if answer.tapped:
            raise Invalid(c.t(self.hint))
        try:
            return M.normalise_bank(answer.text)
        except M.InvalidValue:
            raise Invalid(c.t(self.hint)) from None

    def from_request(self, c: Conv, text: str) -> M.BankAccount | None:
        return M.account_in_sentence(text)  # "계좌 우리은행 1002-123-456789로 바꿀래요"

    def apply(self, c: Conv, value):
        if isinstance(value, M.BankAccount):
            return store_pending_account(c, value.bank, value.number)
        c.set(pending_bank=value)
        return Go("account_number")


def typed_account(c: Conv, text: str) -> M.BankAccount | None:
    """An account number (with or without its bank) when the text holds one, else None; an
    account typed with another person's name as its holder is refused (holder_other)."""
    if not any(ch.isdigit() for ch in text or ""):
        return None
    try:
        return M.parse_account(text, holder=host(c).member_name(c))
    except M.InvalidValue as exc:
        if exc.reason == "holder":
            raise holder_other(c) from None
        return None


def holder_other(c: Conv) -> Invalid:
    """An account typed with someone else's name after it: only the member's own account pays."""
    return Invalid(c.t("signup.account.holder_other", name=mask_name(host(c).member_name(c))))


def store_pending_account(c: Conv, bank: str | None, number: str) -> Go:
    """The account waits, encrypted, for the holder question."""
    c.set(pending_bank=bank or c.slots.get("pending_bank"), pending_account_enc=c.ctx.cipher.encrypt(number),
          pending_account_masked=mask_number(number))
    return Go("account_holder")


class AccountNumberStep(TextStep):
    name = "account_number"
    notes = (("account_holder.family_question", "signup.account.family"),)  # "가족 계좌는 안 돼요?"
    changeable = True  # in my info after the dialog
    why = "signup.account.why"
    question = "signup.account.question"

    def question_text(self, c: Conv) -> str:
        return c.t(self.question, bank=bank_label(c.slots.get("pending_bank", "")))

    def quick_replies(self, c: Conv) -> list:
        return [c.qr(c.t("signup.account.other_bank_label"), "back")]

    def parse(self, c: Conv, answer: Answer):
        if answer.value == "back" or squash(answer.text) == squash(c.t("signup.account.other_bank_label")):
            return "back"
        return super().parse(c, answer)

    def check(self, c: Conv, text: str) -> M.BankAccount:
        try:
            account = M.parse_account(text, holder=host(c).member_name(c))
        except M.InvalidValue as exc:
            raise (holder_other(c) if exc.reason == "holder" else Invalid(c.t("signup.account.invalid"))) from None
        chosen = c.slots.get("pending_bank")
        if account.bank and chosen and account.bank != chosen:
            raise Invalid(c.t("signup.account.bank_mismatch", chosen=chosen, typed=account.bank))
        return account

    def apply(self, c: Conv, value):
        if value == "back":
            c.set(pending_bank=None)
            return Go("bank")
        return store_pending_account(c, value.bank, value.number)


class AccountHolderStep(ChoiceStep):
    name = "account_holder"
    why = "signup.account.why"
    notes = (("account_holder.family_question", "signup.account.family"),)  # "가족 계좌는 안 돼요?"
    hint = "signup.account.holder_invalid"
    yes, no = "yes", "no"

    def options(self, c: Conv) -> list[Option]:
        return [Option("yes", c.t("signup.account.holder_yes"), answers.words("account_holder.yes")),
                Option("no", c.t("signup.account.holder_no"), answers.words("account_holder.no"))]

    def parse(self, c: Conv, answer: Answer) -> str:
        if not answer.tapped:
            # "아내 명의예요", "엄마 통장이에요": someone else's, though "내 명의" is inside 아내 명의;
            # with one's own words besides ("엄마가 만들어 준 제 통장") it is asked again
            typed = squash(answer.text)
            family = [w for w in answers.squashed_words("account_holder.someone_else") if w in typed]
            if family:
                for word in family:
                    typed = typed.replace(word, " ")
                if answers.says_any(typed, "account_holder.yes"):
                    raise Invalid(c.t(self.hint))
                return "no"
        return super().parse(c, answer)

    def question_text(self, c: Conv) -> str:
        return c.t("signup.account.holder_question", name=mask_name(host(c).member_name(c)),
                   bank=bank_label(c.slots.get("pending_bank", "")), masked=c.slots.get("pending_account_masked", ""))

    def apply(self, c: Conv, value: str):
        if value == "no":
            c.set(pending_account_enc=None, pending_account_masked=None)
            return Go("incentive_type", c.t("signup.account.own_name_only"))
        c.set(incentive_type=M.CASH, bank_name=c.slots.get("pending_bank"),
              account_enc=c.slots.get("pending_account_enc"), account_masked=c.slots.get("pending_account_masked"),
              pending_account_enc=None, pending_account_masked=None, pending_bank=None)
        return host(c).after(c, "incentive")


def incentive_summary(c: Conv) -> str:
    code = c.slots.get("incentive_type") or rules().default_incentive_type
    if code == M.CASH and c.slots.get("account_masked"):
        return f"{incentive_label(code)} · {bank_label(c.slots.get('bank_name') or '')} {c.slots['account_masked']}".strip()
    return incentive_label(code)


SHARED_STEPS = (AddressStep, AddressDetailStep, AddressSigunguStep, ComplexDongStep, ComplexHoStep, BillingModeStep,
                UtilityCompanyStep,
                CustomerNumberStep, IncentiveStep, BankStep,
                AccountNumberStep, AccountHolderStep)
