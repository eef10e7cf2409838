"""The notice skill (`POST /kakao/skills/notice`): connected to the event blocks of the pushes,
it shows each member their own latest notice (the push itself carries only what a whole batch
shares). The campaign opt-out ('수신거부') belongs to the campaigns skill; a campaign notice
offers it as a quick reply there.

Which notice: the one named by the tapped button (clientExtra notice_id, or kind/period, also
accepted as block params), else the member's latest one that was pushed. Only the member's own
notices are ever shown: the member is found by the turn's botUserKey."""
from __future__ import annotations

from sqlalchemy import func, select

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs.balance import hold_fix, upcoming_hold
from bot.push import render
from core import outbox
from core.models import Member
from core.models.outbox import Notification

SHOWN_STATES = ("in_flight", "sent", "uncertain")


def _member(ctx) -> Member | None:
    return ctx.session.scalars(
        select(Member).where(Member.bot_user_key == ctx.turn.user_key, Member.status == "active")
    ).first()


def _wanted(ctx) -> tuple[int | None, str | None, str | None]:
    extra, params = ctx.turn.client_extra, ctx.turn.params
    raw_id = extra.get("notice_id")
    notice_id = int(raw_id) if isinstance(raw_id, (int, str)) and str(raw_id).isdigit() else None
    kind = extra.get("kind") or params.get("kind")
    period = extra.get("period") or params.get("period")
    return notice_id, kind if kind in outbox.KINDS else None, period if isinstance(period, str) else None


def latest_notice(ctx, member: Member) -> Notification | None:
    N = Notification
    notice_id, kind, period = _wanted(ctx)
    q = select(N).where(N.member_id == member.id, N.state.in_(SHOWN_STATES))
    if notice_id is not None:
        q = q.where(N.id == notice_id)
    if kind:
        q = q.where(N.kind == kind)
        if period:
            q = q.where(N.period == period)
    return ctx.session.scalars(
        q.order_by(func.coalesce(N.sent_at, N.claimed_at, N.created_at).desc(), N.id.desc()).limit(1)
    ).first()


def notice(ctx) -> dict:
    member = _member(ctx)
    if member is None:
        return ui.menu_reply(ctx, texts.t("notice.not_member"), member=False)
    found = latest_notice(ctx, member)
    if found is None:
        return ui.menu_reply(ctx, texts.t("notice.nothing"), member=True)
    hold = upcoming_hold(member) if found.kind == "monthly_result" else None
    return render.notice_reply(ctx, found, hold_fix(ctx, hold) if hold else None)


def register(app: BotApp) -> None:
    app.skill("notice")(notice)
