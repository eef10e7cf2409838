"""Frequently asked questions (spec §14), answered from the rules and settings.

Reached three ways: typed questions understood by bot/understanding (the router answers a
confident FAQ intent here), the help skill's `자주 묻는 질문` (clientExtra {"view": "faq"}),
and list items / quick replies carrying {"faq": <intent>} or {"intent": <intent>}. Inside a
dialog the dialog answers a question it confidently understands itself and repeats its pending
question (bot.dialogs.signup.machine).

Figures in answers (caps, payout months, green-life amounts) come from core.rules, never from
the text files, so a rules change changes the answers.
"""
from __future__ import annotations

from functools import lru_cache

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs import balance
from bot.kakao import limits
from bot.kakao.parts import Button, ListItem
from bot.kakao.response import Carousel, ListCard, SimpleText, TextCard, fit_text
from core.rules import default_rules

INTENTS = (
    "about", "join_how", "seoul_resident", "household_member", "tenant", "resources", "apartment", "customer_number_where", "under_14",
    "how_points_work", "why_zero_points", "when_paid_energy", "how_much_max", "point_value", "expected_payout",
    "check_points", "change_incentive", "change_account", "moving_house", "payment_missing", "usage_wrong",
    "usage_missing", "points_use", "usage_up", "website_login", "name_change", "holder_change", "am_i_member", "greenlife_what", "greenlife_when_paid", "greenlife_not_accruing", "kakao_pay", "privacy", "contact",
    "business", "foreigner",
)
# The list view: four cards of at most four questions (carousel listCard limit).
GROUPS = {
    "join": ("join_how", "seoul_resident", "household_member", "customer_number_where"),
    "points": ("why_zero_points", "when_paid_energy", "how_much_max", "point_value"),
    "change": ("change_incentive", "change_account", "moving_house", "payment_missing"),
    "other": ("greenlife_what", "greenlife_when_paid", "privacy", "contact"),
}
# Where an answer leads: the skill of its quick reply (plus extra), if any.
ACTIONS = {
    "about": ("signup", None), "join_how": ("signup", None), "household_member": ("signup", None), "tenant": ("signup", None),
    "resources": ("signup", None), "apartment": ("signup", None),
    "customer_number_where": ("signup", None), "business": ("signup", None), "foreigner": ("signup", None),
    "how_points_work": ("balance", None), "why_zero_points": ("balance", None), "when_paid_energy": ("balance", None),
    "how_much_max": ("balance", None), "point_value": ("balance", None), "expected_payout": ("balance", None),
    "check_points": ("balance", None),
    "change_incentive": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "incentive"}),
    "change_account": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "account"}),
    "moving_house": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "move"}),
    "holder_change": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "householder"}),
    "payment_missing": ("myinfo", None), "kakao_pay": ("myinfo", None), "usage_wrong": ("myinfo", None),
    "points_use": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "incentive"}),
    "usage_up": ("balance", None), "usage_missing": ("balance", None),
    "greenlife_what": ("greenlife", None), "greenlife_when_paid": ("greenlife", None),
    "greenlife_not_accruing": ("greenlife", None),
}


def _squash(text: str | None) -> str:
    return "".join((text or "").split()).lower()


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], frozenset[str]]:
    """Squashed list questions, and the squashed examples of the FAQ list intent, built once
    (texts are read-only at run time)."""
    from bot import understanding

    questions = {_squash(texts.t(f"faq.{intent}.question", lang=lang)).rstrip("?"): intent
                 for lang in texts.LANGUAGES for intent in INTENTS}
    list_words = frozenset(_squash(u) for lang in understanding.LANGS
                           for u in understanding.bank(lang).get("faq_list", {}).get("examples", ()))
    return questions, list_words


def match_intent(text: str | None) -> str | None:
    """The FAQ intent the text asks, when understood with confidence (a list question exactly,
    else bot/understanding); 'list' means the FAQ list itself."""
    typed = _squash(text)
    if not typed:
        return None
    questions, list_words = _tables()
    exact = questions.get(typed.rstrip("?"))
    if exact is not None:
        return exact
    if typed in list_words:
        return "list"
    from bot import understanding

    u = understanding.understand(text)
    top = u.result.top
    if u.outcome != "confident" or top is None or top.score < understanding.thresholds().dialog:
        return None
    if u.intent == "faq_list":
        return "list"
    return u.intent if u.intent in INTENTS else None


def dialog_question(text: str | None, asked: bool = False, topic: str = "") -> str | None:
    """The FAQ intent of a question typed in the middle of a dialog (text the step could not
    take as its answer): as `match_intent`, and also an ordinary confident understanding when
    the text reads as a question ('고객번호가 어디 있어요?'); `asked`: typed with a question mark
    (which normalisation removes); `topic`: the FAQ of what the step asks for, which a plain
    question that comes close to it means ('한전 앱에서 봐도 돼요?' at the customer number)."""
    intent = match_intent(text)
    if intent is not None:
        return intent
    from bot import understanding
    from bot.dialogs import answers

    u = understanding.understand(text)
    top = u.result.top
    plainly = asked or answers.asks(text)
    if u.outcome == "close" and plainly and topic and topic in u.choices:
        return topic
    if (u.outcome == "close" and plainly and u.intent in INTENTS
            and [i for i in u.choices if i in INTENTS] == [u.intent]):
        # '텀블러도 돼요?' between the green-life answer and the green-life menu: inside a dialog
        # only the answer can be meant (a menu is not what the step waits for)
        return u.intent
    if u.outcome != "confident" or u.intent not in INTENTS or top is None:
        return None
    # A plain question ('세입자도 돼요?': a question mark or word) is answered at the close score,
    # as outside a dialog; one that only ends like a question, which answers share, needs more.
    limits = understanding.thresholds()
    if plainly and top.score >= limits.close:
        return u.intent
    if top.score >= limits.confident and answers.looks_like_question(text):
        return u.intent
    return None


def _is_list(text: str | None) -> bool:
    """Cheap check for the help skill: the text is one of the FAQ list intent's examples."""
    return _squash(text) in _tables()[1]


def facts(ctx) -> dict:
    """Placeholders of the answers, from the rules in force and the settings."""
    from core.clock import today_kst
    from core.points.periods import Half

    rules = default_rules()
    half = Half.of_date(today_kst(ctx.clock))
    household = rules.schedule_for("individual", half)
    commercial = rules.schedule_for("commercial", half)
    gl = rules.greenlife
    return {
        "call_centre": ctx.settings.call_centre, "website": ctx.settings.website,
        "ecomileage": texts.t("signup.address.seoul_url"),
        "greenlife_seoul": texts.t("greenlife.seoul_welcome" if not rules.greenlife.excludes_seoul
                                   else "greenlife.seoul_excluded"),
        "cap_half": f"{household.cap_points_per_half:,}", "cap_year": f"{household.cap_won_per_year:,}",
        "cap_commercial_year": f"{commercial.cap_won_per_year:,}",
        "cap_commercial_half": f"{commercial.cap_points_per_half:,}",
        "commercial_streak": commercial.maintenance_min_streak,
        "greenlife_cap": f"{gl.cap_won:,}", "greenlife_bonus": f"{gl.bonus_won:,}",
        "greenlife_confirm_day": gl.confirm_day, "greenlife_pay_from_day": gl.pay_from_day,
        "bands": _bands_text(household, rules.resources),
        **dict(ui.programme_facts(ctx)),  # rate_max, lowest_band, payout_h1, payout_h2: as the help card says them
    }


def _bands_text(schedule, resources) -> str:
    """One line per resource: its reduction bands and their points ('• 전기: 5% 5,000P · 10%
    10,000P · 15% 15,000P')."""
    lines = []
    for r in resources:
        bands = " \u00b7 ".join(f"{b.min_rate.normalize():f}% {b.points[r]:,}P" for b in schedule.bands if r in b.points)
        lines.append(f"\u2022 {texts.t(f'signup.resource.{r}')}: {bands}")
    return "\n".join(lines)


def answer_text(ctx, intent: str | None) -> str | None:
    if intent not in INTENTS:
        return None
    if intent == "am_i_member":  # only the asker's own answer answers it (also mid-dialog)
        return membership_text(ctx, _member(ctx))
    return texts.t(f"faq.{intent}.answer", **facts(ctx))


# Questions a member gets answered with their own figures; a non-member gets the general
# answer and the way to join.
PERSONAL = ("why_zero_points", "when_paid_energy", "expected_payout", "how_much_max", "point_value", "payment_missing",
            "points_use", "customer_number_where")
# Where an answer leads a member instead (joining is done): the change in my info, or nowhere.
MEMBER_ACTIONS = {
    "customer_number_where": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "resources"}),
    "apartment": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "resources"}),
    "resources": ("myinfo", {"dialog": "myinfo", "action": "open", "flow": "resources"}),
}


def _member(ctx):
    from core import members as M

    return M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)


def _month_parts(month: str | None) -> tuple[int, int] | None:
    return (int(month[:4]), int(month[5:7])) if month else None


def _payout_lines(ctx, member, terms: dict) -> list[str]:
    """Their 시군구's payout month for this half, and their last statement's amount."""
    lines = []
    lg = (terms.get("local_government") or {}).get("name") or texts.t("faq.personal.your_area")
    when = _month_parts(terms.get("payout_month"))
    if when:
        lines.append(texts.t("faq.personal.payout", lg=lg, half=balance.half_label(terms["half"]),
                             year=when[0], month=when[1]))
    lines.append(_statement_line(ctx, _last_statement(ctx, member)))
    return lines


def _last_statement(ctx, member) -> dict | None:
    """The view of the member's last settled half, None before the first."""
    from core import statements

    last = statements.last_settled_half(ctx.session, member.id)
    return statements.statement_view(ctx.session, member.id, last) if last else None


def _statement_line(ctx, view: dict | None) -> str:
    """The last settled half's points and won, its status and payout month."""
    if view is None:
        return texts.t("faq.personal.no_statement")
    status = view.get("status") or "expected"
    if status == "expected" and not (view.get("won") or 0):
        status = "none"
    fmt = {"half": balance.half_label(view["half"]), "points": f"{int(view.get('points') or 0):,}",
           "won": f"{int(view.get('won') or 0):,}", "status": texts.t(f"balance.status.{status}")}
    paid = _month_parts(view.get("payout_month"))
    if paid:
        return texts.t("faq.personal.last_statement", year=paid[0], month=paid[1], **fmt)
    return texts.t("faq.personal.last_statement_no_month", **fmt)


def personal_text(ctx, intent: str) -> str | None:
    """The member's own figures for a personal question, None for a non-member (or none to say)."""
    if intent not in PERSONAL:
        return None
    member = _member(ctx)
    if member is None:
        return None
    if intent == "why_zero_points":
        return balance.last_half_reasons_text(ctx)
    if intent == "payment_missing":
        return _payment_text(ctx, member)
    if intent == "customer_number_where":
        from bot.dialogs import myinfo

        rows = "\n".join(f"• {name}: {desc}" for name, desc in myinfo.resource_rows(ctx, member))
        return texts.t("faq.personal.customer_numbers", rows=rows)
    if intent == "points_use":
        from bot.dialogs.signup import fields as F

        return texts.t("faq.personal.incentive", label=F.incentive_label(member.incentive_type))
    from decimal import Decimal

    from core import statements
    from core.clock import today_kst
    from core.points.award import won_for

    terms = statements.member_terms(ctx.session, member.id, today_kst(ctx.clock))
    note = ("\n" + texts.t("balance.default_note", marker=texts.t("common.default_marker"))
            if balance.figures_are_default(terms) else "")
    if intent in ("when_paid_energy", "expected_payout"):
        return "\n".join(_payout_lines(ctx, member, terms)) + note
    lg = (terms.get("local_government") or {}).get("name") or texts.t("faq.personal.your_area")
    rate = Decimal(terms["rate"])
    shown = f"{rate.normalize():f}"
    if intent == "point_value":
        return texts.t("faq.personal.rate", lg=lg, rate=shown) + note
    cap_half = terms["cap_points_per_half"]
    won_half = won_for(cap_half, rate)
    won_year = min(2 * won_half, terms["cap_won_per_year"])
    return texts.t("faq.personal.max", lg=lg, rate=shown, cap_half=f"{cap_half:,}", won_half=f"{won_half:,}",
                   won_year=f"{won_year:,}") + note


def _payment_text(ctx, member) -> str | None:
    """Their last settled half: why its payment is held or was not paid, else its amount and month."""
    view = _last_statement(ctx, member)
    if view is None:
        return _statement_line(ctx, view)
    held = balance.hold_note(ctx, view, member)
    if held:
        return texts.t("faq.personal.held", half=balance.half_label(view["half"]), note=held)
    return _statement_line(ctx, view)


def membership_text(ctx, member) -> str:
    """Whether this KakaoTalk is a member: the masked member number, the date joined and the
    시·군·구, or no membership and the ways in."""
    from bot.handoff import masked_member_number
    from core.clock import kst_date
    from core.models import LocalGovernment

    if member is None:
        return texts.t("faq.personal.member_no")
    lg = ctx.session.get(LocalGovernment, member.local_government_code) if member.local_government_code else None
    return texts.t("faq.personal.member_yes", masked=masked_member_number(member.id),
                   joined=kst_date(member.joined_at).isoformat() if member.joined_at else "-",
                   lg=lg.name if lg else texts.t("faq.personal.your_area"))


def membership_reply(ctx) -> dict:
    """'제가 회원인가요?': yes with the masked member number, the date joined and the 시·군·구, or
    that this KakaoTalk has no membership, with the link (joined on the website or at the office)
    and the signup."""
    from bot.dialogs.link import link_quick_reply

    member = _member(ctx)
    if member is None:
        qrs = [link_quick_reply(ctx), ui.qr(ctx, texts.t("faq.actions.signup"), "signup", None,
                                             texts.t("faq.actions.signup"))]
    else:
        qrs = [ui.qr(ctx, texts.t("faq.actions.myinfo"), "myinfo", None, texts.t("faq.actions.myinfo"))]
    body = membership_text(ctx, member)
    qrs += [ui.qr(ctx, texts.t("faq.more_label"), "help", {"view": "faq"}, texts.t("faq.more_text")),
            ui.home_quick_reply(ctx)]
    return ui.reply([SimpleText(fit_text(body, limits.SIMPLE_TEXT_MAX))], qrs)


def answer_reply(ctx, intent: str) -> dict:
    if intent == "am_i_member":
        return membership_reply(ctx)
    body = answer_text(ctx, intent) or ""
    action = ACTIONS.get(intent)
    if intent in PERSONAL:
        mine = personal_text(ctx, intent)
        if mine:
            body = f"{body}\n\n{mine}"
        elif _member(ctx) is None and intent != "payment_missing":
            body = f"{body}\n\n{texts.t('faq.personal.join_hint')}"
            action = ("signup", None)
    if action and action[0] == "signup" and _member(ctx) is not None:
        action = MEMBER_ACTIONS.get(intent)  # a member is not invited to join again
    outputs: list[SimpleText | TextCard] = [SimpleText(fit_text(body or "", limits.SIMPLE_TEXT_MAX))]
    if intent == "contact":
        outputs.append(TextCard(title=texts.t("faq.call_label"), description=ctx.settings.call_centre,
                                buttons=[Button.phone(texts.t("faq.call_label"), ctx.settings.call_centre)]))
    if intent == "seoul_resident" and not default_rules().greenlife.excludes_seoul:
        action = ("greenlife", None)  # what a Seoul resident can join here
    qrs = []
    if action:
        skill, extra = action
        # a my-info change is named by its own label ('계좌 변경'), other skills by theirs
        label = texts.t(f"myinfo.labels.{extra['flow']}") if extra and extra.get("flow") else texts.t(f"faq.actions.{skill}")
        qrs.append(ui.qr(ctx, label, skill, extra, label))
    qrs.append(ui.qr(ctx, texts.t("faq.more_label"), "help", {"view": "faq"}, texts.t("faq.more_text")))
    qrs.append(ui.home_quick_reply(ctx))
    return ui.reply(outputs, qrs)


def list_reply(ctx) -> dict:
    cards = []
    for group, intents in GROUPS.items():
        items = [ListItem(texts.t(f"faq.{i}.question"), action="message", message_text=texts.t(f"faq.{i}.question"),
                          extra={"faq": i}) for i in intents]
        cards.append(ListCard(texts.t(f"faq.groups.{group}"), items))
    return ui.reply([SimpleText(texts.t("faq.list_intro")), Carousel(cards)],
                    [ui.qr(ctx, texts.t("common.menu.help"), "help"), ui.home_quick_reply(ctx)])


def faq_skill(ctx) -> dict:
    """Answer the intent named by a tap ({"faq": intent}) or found in the text; else the list."""
    extra = ctx.turn.client_extra or {}
    named = extra.get("faq") or extra.get("intent")
    intent = named if named in INTENTS else match_intent(ctx.turn.utterance)
    if intent in INTENTS:
        return answer_reply(ctx, intent)
    return list_reply(ctx)


def wants_faq(ctx) -> bool:
    """The help skill hands these turns to the FAQ: its `자주 묻는 질문` quick reply, a FAQ tap."""
    extra = ctx.turn.client_extra or {}
    return extra.get("view") == "faq" or extra.get("faq") in INTENTS or _is_list(ctx.turn.utterance)


def register(app: BotApp) -> None:
    app.skill("faq")(faq_skill)
