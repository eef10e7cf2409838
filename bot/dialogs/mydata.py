"""Everything held about a member, shown to that member (my info -> "내 정보 전체 보기"): the
member's details, resource accounts (ended ones too), payout method, consents, and how many
records of each kind the programme keeps, with what it never keeps. Numbers are masked
(customer numbers, the account and the mobile to their last digits, the numbers of the address
to their first). Read-only; the data come from core.member_data."""
from __future__ import annotations

from bot import texts, ui
from bot.dialogs.signup import fields as F
from bot.dialogs.signup.dialog import member_type_label
from bot.kakao import limits
from bot.kakao.response import SimpleText, fit_text
from core.member_data import Held, held_about

ACTION = "all_data"  # client_extra {"dialog": "myinfo", "action": ACTION}
COUNT_KEYS = ("readings", "statements", "ledger", "payouts", "greenlife_activities", "greenlife_awards",
              "pledges", "notifications", "addresses", "disputes")


def _t(key: str, **fmt) -> str:
    return texts.t(f"mydata.{key}", **fmt)


def _date(value) -> str:
    return value.isoformat()[:10] if value else "-"


def _consent_lines(consents: dict) -> list[str]:
    if not consents:
        return [_t("consents.none")]
    required = consents.get("terms") or consents.get("privacy")
    lines = [_t("consents.required", at=str(required)[:10] if isinstance(required, str) else "-")]
    optional = _t("consents.yes") if consents.get("optional") else _t("consents.no")
    lines.append(_t("consents.optional", answer=optional, at=str(consents.get("optional_at") or "-")[:10]))
    return lines


def sections(held: Held) -> list[str]:
    """The view as text sections, each one simpleText's worth at most."""
    m = held.member
    lg = m.local_government.name if m.local_government is not None else _t("unknown")
    details = [_t("sections.details"),
               _t("rows.type", value=member_type_label(m.member_type)),
               _t("rows.name", value=m.name or "-"),
               _t("rows.mobile", value=held.masked_mobile or "-"),
               _t("rows.email", value=m.email or _t("none")),
               _t("rows.address", value=F.mask_address(m.address, m.address_detail) or "-"),
               _t("rows.local_government", value=lg),
               _t("rows.joined", value=_date(m.joined_at)),
               *_consent_lines(held.consents)]
    resources = [_t("sections.resources")]
    for a in held.accounts:
        mode = F.billing_label(a.billing_mode)
        number = f" {a.masked_number}" if a.masked_number else ""
        period = _t("period_ended", start=_date(a.registered_on), end=_date(a.ended_on)) if a.ended_on \
            else _t("period_current", start=_date(a.registered_on))
        resources.append(_t("rows.resource", resource=F.resource_label(a.resource), mode=mode, number=number,
                            period=period))
    if not held.accounts:
        resources.append(_t("none"))
    incentive = F.incentive_label(m.incentive_type)
    if held.masked_account:
        incentive = f"{incentive} · {m.bank_name or ''} {held.masked_account}".rstrip()
    resources += [_t("sections.payout"), _t("rows.incentive", value=incentive)]
    records = [_t("sections.records")]
    records += [_t(f"counts.{key}", n=held.counts.get(key, 0)) for key in COUNT_KEYS]
    records.append(_t("rows.dialog_state_yes") if held.dialog_state else _t("rows.dialog_state_no"))
    records += [_t("sections.never"), _t("never")]
    return ["\n".join(part) for part in (details, resources, records)]


def all_data_reply(ctx, member) -> dict:
    """The whole view: an introduction and the sections, as at most three simpleTexts."""
    held = held_about(ctx.session, ctx.cipher, member)
    body = sections(held)
    body[0] = f"{_t('intro')}\n\n{body[0]}"
    outputs = [SimpleText(fit_text(text, limits.SIMPLE_TEXT_MAX)) for text in body[: limits.OUTPUTS_MAX]]
    ctx.log.info("member viewed own data")  # no content: only that it happened
    qrs = [ui.qr(ctx, texts.t("mydata.back"), "myinfo"), ui.home_quick_reply(ctx)]
    return ui.reply(outputs, qrs)
