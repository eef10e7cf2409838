"""A person when the bot cannot help: counting not-understood turns in a row, and the summary a
citizen pastes into the 1:1 chat.

The count and the citizen's recent questions live in their own row (miss_streaks, read with
the dialog state at the start of the turn) and are written after the turn, committed on their
own (core.dialog_store.DialogStore.note_miss): counting a miss never opens the turn's
transaction. Only turns with no dialog running count, so nothing typed at a personal-data step
is ever kept here. Each question is masked as the operators' queue masks it (core.unmatched:
runs of 4+ digits and a name after '이름은' become ****) and cut short. The streak ends when the bot understands typed
text, a dialog takes a turn or a person is offered (see `forget`), and after `WINDOW` without
a not-understood turn ("repeated" means within a conversation).

The summary: the questions in the citizen's own words (masked) and their member number with
all but the last digits masked, never a name, address, mobile or account.
"""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from bot import texts
from core import members as M
from core.clock import utcnow_naive
from core.pii import scrub_rrn
from core.unmatched import mask_personal

KEEP = 3  # questions kept for the summary
QUESTION_MAX = 120
WINDOW = timedelta(hours=1)


def _free(ctx) -> bool:
    """No dialog is running: the turn may count."""
    return not ctx.dialog.active


def masked_question(text: str | None) -> str:
    return " ".join(mask_personal(scrub_rrn(text or "")).split())[:QUESTION_MAX]


def _current(ctx) -> tuple[int, list[str]]:
    """(turns, questions) of the streak still running, (0, []) when there is none."""
    misses = ctx.dialog.row.misses if _free(ctx) else None
    if not misses:
        return 0, []
    turns, asked, at = misses
    if at is None or utcnow_naive(ctx.clock) - at > WINDOW:
        return 0, []
    return int(turns or 0), [q for q in asked.split("\n") if q]


def note_not_understood(ctx) -> bool:
    """Count one not-understood turn; True when it is time to offer a person."""
    if not _free(ctx):
        return False
    turns, asked = _current(ctx)
    turns += 1
    question = masked_question(ctx.turn.utterance)
    asked = asked[-(KEEP - 1):] + [question] if question else asked[-KEEP:]
    _change(ctx, (turns, "\n".join(asked), utcnow_naive(ctx.clock)))
    return turns >= ctx.settings.handoff_after_not_understood


def forget(ctx) -> None:
    """The bot understood the citizen, a dialog took the turn, or a person was offered: the
    next not-understood turn counts from one again. (Taps on menus between two misses do not
    end the streak: they do not show that the bot understood what the citizen asks.)"""
    if ctx.dialog.row.misses is not None:
        _change(ctx, None)


def _change(ctx, misses: tuple | None) -> None:
    """Set the streak; one write after the turn commits, whatever the turn changed last (a
    miss that offers a person and so ends the streak is a single delete)."""
    row = ctx.dialog.row
    first, row.misses_changed, row.misses = not row.misses_changed, True, misses
    if first:
        store, user_key = ctx.store, ctx.turn.user_key
        assert store is not None  # set by bot.app before the router runs
        stored = row.misses_stored

        def write() -> None:
            if row.misses is not None:
                store.note_miss(user_key, *row.misses)
            elif stored:
                store.clear_misses(user_key)

        ctx.after_commit.append(write)


def asks_for_person(text: str | None) -> bool:
    """Typed text that asks for a person ("상담원 연결해줘", "사람이랑 얘기할래요"), so that a
    dialog does not take it for the answer to its question (a name of two words fits "상담원
    연결해줘"). Only text holding a word of such a request (keywords.toml ``person``) is
    classified: the rest of what is typed at a personal step never reaches the classifier."""
    typed = " ".join((text or "").split())
    lowered = typed.lower()
    if not typed or not any(w in lowered for w in _person_words()):
        return False
    from bot import understanding

    u = understanding.understand(typed)
    top = u.result.top
    if u.outcome != "confident" or u.intent != "human" or top is None:
        return False
    # one word ("김상담") may be a name: only taken for a request with the in-dialog certainty
    return " " in typed or top.score >= understanding.thresholds().dialog


@lru_cache(maxsize=1)
def _person_words() -> tuple[str, ...]:
    return tuple(w.lower() for lang in texts.LANGUAGES for w in texts.raw("keywords", lang=lang).get("person", ()))


def masked_member_number(member_id: int) -> str:
    """The member number (8 digits) with all but the last 4 masked: '****0042'."""
    return "****" + f"{member_id:08d}"[-4:]


def _member_id(ctx) -> int | None:
    """The active member's id. The turn's first read already said whether any member has
    this botUserKey: most who need a person are not members, and then no query runs."""
    if ctx.member_reach == () and not ctx.turn.app_user_id:
        return None
    member = M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)
    return member.id if member is not None else None


def summary(ctx) -> str:
    """What the citizen pastes for staff: their recent questions (masked) and member number."""
    asked = _current(ctx)[1]
    member_id = _member_id(ctx)
    lines = [texts.t("understanding.summary_title")]
    lines.append(texts.t("understanding.summary_member", masked=masked_member_number(member_id)) if member_id is not None
                 else texts.t("understanding.summary_not_member"))
    if asked:
        lines += [texts.t("understanding.summary_question", question=q) for q in asked]
    else:
        lines.append(texts.t("understanding.summary_no_question"))
    return "\n".join(lines)
