"""A person when the bot cannot help: counting not-understood turns in a row, and the summary a
citizen pastes into the 1:1 chat.

The count and the citizen's recent questions live in the dialog state's slots while no dialog
runs (a dialog's own slots are never touched, so nothing typed at a personal-data step is ever
kept here). Each question is masked as the operators' queue masks it (core.unmatched: runs of
4+ digits become ****) and cut short. Any other turn clears them; so does a window of
`WINDOW` without a not-understood turn ("in a row" means within a conversation).

The summary: the questions in the citizen's own words (masked) and their member number with
all but the last digits masked, never a name, address, mobile or account.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from bot import texts
from core import members as M
from core.clock import utcnow_naive
from core.pii import scrub_rrn
from core.unmatched import mask_digits

COUNT, ASKED, AT = "nu_count", "nu_asked", "nu_at"
KEEP = 3  # questions kept for the summary
QUESTION_MAX = 120
WINDOW = timedelta(hours=1)


def _free(ctx) -> bool:
    """No dialog is running: the slots are ours."""
    return not ctx.dialog.active


def _write(ctx, slots: dict) -> None:
    row = ctx.dialog.row
    row.slots = slots
    row.updated_at = utcnow_naive(ctx.clock)
    row.dirty = True


def masked_question(text: str | None) -> str:
    return " ".join(mask_digits(scrub_rrn(text or "")).split())[:QUESTION_MAX]


def _current(ctx) -> dict:
    slots = ctx.dialog.slots if _free(ctx) else {}
    if not slots.get(COUNT):
        return {}
    try:
        at = datetime.fromisoformat(slots.get(AT) or "")
    except ValueError:
        return {}
    return slots if utcnow_naive(ctx.clock) - at <= WINDOW else {}


def note_not_understood(ctx) -> bool:
    """Count one not-understood turn; True when it is time to offer a person."""
    if not _free(ctx):
        return False
    slots = _current(ctx)
    count = int(slots.get(COUNT) or 0) + 1
    question = masked_question(ctx.turn.utterance)
    asked = [q for q in (slots.get(ASKED) or []) if q][-(KEEP - 1):] + ([question] if question else [])
    _write(ctx, {COUNT: count, ASKED: asked, AT: utcnow_naive(ctx.clock).isoformat()})
    return count >= ctx.settings.handoff_after_not_understood


def forget(ctx) -> None:
    """Another turn came between: the next not-understood one counts from one again."""
    if _free(ctx) and any(k in ctx.dialog.slots for k in (COUNT, ASKED, AT)):
        _write(ctx, {})


def masked_member_number(member_id: int) -> str:
    """The member number (8 digits) with all but the last 4 masked: '****0042'."""
    return "****" + f"{member_id:08d}"[-4:]


def summary(ctx) -> str:
    """What the citizen pastes for staff: their recent questions (masked) and member number."""
    asked = list(_current(ctx).get(ASKED) or [])
    member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    lines = [texts.t("understanding.summary_title")]
    lines.append(texts.t("understanding.summary_member", masked=masked_member_number(member.id)) if member is not None
                 else texts.t("understanding.summary_not_member"))
    if asked:
        lines += [texts.t("understanding.summary_question", question=q) for q in asked]
    else:
        lines.append(texts.t("understanding.summary_no_question"))
    return "\n".join(lines)
