"""Multi-step dialogs as explicit state machines (cf. python-telegram-bot's ConversationHandler).

A dialog is a table of `Step`s. Each step knows how to ask its question (`ask` -> `Prompt`), how
to read an answer (`parse`: a quick-reply tap carrying {"dialog", "step", "value"} or the same
answer typed as free text on the fallback skill; raises `Invalid` with a hint), and what comes
next (`apply` -> `Go(step)` or a finished reply). `StepDialog` runs the table for the router:

- a tap whose step is not the current one (an old button) gets the current question again;
- a wrong answer is asked again with the step's hint; every third wrong answer in a row offers
  help (call centre, FAQ, cancel) instead;
- a free-text question the FAQ knows ("고객번호가 뭐예요?") is answered, then the question repeated;
- `start` while the dialog is active resumes the same step (the state lives in the database
  until DIALOG_TTL_HOURS pass);
- where the dialog allows it (`undo`), "이전" takes back the last answer and "처음부터" every
  answer: each answer that moves on keeps a snapshot of the slots it found, and going back puts
  that snapshot back. A tap on the previous question's card button answers that question again.

The state (step, slots, failures) is the user's DialogState row, written in the turn's
transaction. Slots must never hold a plain customer or account number (encrypt them) and never
see a resident registration number (the router refuses those before any dialog runs).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from bot import handoff, texts, ui
from bot.context import Ctx
from bot.dialogs import answers
from bot.kakao import limits
from bot.kakao.parts import Button, QuickReply
from bot.kakao.response import SimpleText, TextCard, fit_text


@lru_cache(maxsize=1)
def _areas() -> frozenset[str]:
    return frozenset(texts.areas())


normalise = answers.normalise  # what every step sees of a typed answer (NFKC, single spaces)
squash = answers.squash


class Invalid(Exception):
    """The answer does not fit the step; `hint` (Korean, 해요체) says what is expected."""

    def __init__(self, hint: str) -> None:
        super().__init__("invalid answer")
        self.hint = hint


@dataclass
class Prompt:
    """A question: up to three outputs (components) and the quick replies that answer it."""

    outputs: list
    quick_replies: list = field(default_factory=list)
    cancel: bool = True  # add the dialog's 취소 quick reply


@dataclass
class Go:
    """Move to `step` (asking its question), optionally with a notice shown before it."""

    step: str
    notice: str | None = None


@dataclass(frozen=True)
class Answer:
    text: str  # normalised utterance
    extra: dict  # clientExtra of a tap of this dialog and step, else {}
    tapped: bool
    asked: bool = False  # the utterance as typed ends in a question mark, which normalising drops

    @property
    def value(self) -> Any:
        return self.extra.get("value") if self.tapped else None


class Conv:
    """What a step sees of the turn: the context, its dialog, helpers for quick replies."""

    def __init__(self, dialog: StepDialog, ctx: Ctx) -> None:
        self.dialog = dialog
        self.ctx = ctx

    @property
    def slots(self) -> dict:
        return self.ctx.dialog.slots

    @property
    def step(self) -> str | None:
        return self.ctx.dialog.step

    def set(self, **slots) -> None:
        self.ctx.dialog.update(**slots)

    def t(self, key: str, **fmt) -> str:
        """A text of the dialog's area ('name.invalid_person' -> 'signup.name.invalid_person'),
        or of another area when the key names one ('common.menu.cancel')."""
        if key.partition(".")[0] not in _areas():
            key = f"{self.dialog.text_area}.{key}"
        return texts.t(key, **fmt)

    def extra(self, step: str | None = None, value: Any = None, **more) -> dict:
        out = {"dialog": self.dialog.name, "step": step or self.step}
        if value is not None:
            out["value"] = value
        out.update({k: v for k, v in more.items() if v is not None})
        return out

    def qr(self, label: str, value: Any = None, step: str | None = None, text: str | None = None, **more) -> QuickReply:
        """A quick reply answering `step` (default: the current step) with `value`."""
        return ui.qr(self.ctx, label, self.dialog.skill, self.extra(step, value, **more), text)

    def action_qr(self, label: str, action: str, text: str | None = None, **more) -> QuickReply:
        extra = {"dialog": self.dialog.name, "action": action, **more}
        return ui.qr(self.ctx, label, self.dialog.skill, extra, text)

    def button(self, label: str, value: Any = None, step: str | None = None, text: str | None = None,
               **more) -> Button:
        """A card button answering a step, like `qr` (block action when the block id is known)."""
        extra = self.extra(step, value, **more)
        block_id = self.ctx.settings.block_ids.get(self.dialog.skill)
        if block_id:
            return Button.block(label, block_id, message_text=text or label, extra=extra)
        return Button.message(label, text or label, extra=extra)

    def cancel_qr(self) -> QuickReply:
        label = texts.t("common.menu.cancel")
        return QuickReply.message(label, label, extra={"dialog": self.dialog.name, "action": "cancel"})

    def cancel_button(self) -> Button:
        label = texts.t("common.menu.cancel")
        return Button.message(label, label, extra={"dialog": self.dialog.name, "action": "cancel"})


class Step:
    """One state. Subclasses override `ask`, `parse` and `apply`."""

    name: str = ""
    why: str = ""  # text key: why the step asks what it asks ("이름은 왜 필요해요?")
    # The FAQ of what the step asks for: a "where" question about it ("이거 어디서 봐요?",
    # "번호 어디 있어요") is that question, not another FAQ its words resemble
    topic_faq: str = ""
    # "나중에 바꿀 수 있어요?": `later` (a text key) answers it; a `changeable` step's answer can be
    # changed after the dialog, which the dialog's `later_key` says where
    later: str = ""
    changeable: bool = False
    # What the step's subject is ("세대주가 뭐예요?", "이게 무슨 말이에요?"): `about` (a text key)
    # answers it, asked with a word of answers.toml `about_words` or a "this" word
    about: str = ""
    about_words: str = ""
    # Situations people type instead of the answer ("집전화도 돼요?", "전입신고를 아직 안 했어요"):
    # (answers.toml key of their words, text key of the reply), checked in order
    notes: tuple[tuple[str, str], ...] = ()

    def ask(self, c: Conv) -> Prompt:
        raise NotImplementedError

    def parse(self, c: Conv, answer: Answer) -> Any:
        raise NotImplementedError

    def apply(self, c: Conv, value: Any) -> Go | dict:
        raise NotImplementedError

    def tap_matches(self, c: Conv, extra: dict) -> bool:
        """Does a tap carrying `extra` answer this step as it stands now?"""
        return extra.get("step") == self.name

    def from_request(self, c: Conv, text: str) -> Any:
        """The answer to this step held by the typed request that opened the dialog ("휴대폰
        번호 010 1234 5678로 바꿔주세요"), as `parse` would give it, or None (then it is asked).
        Only what the step can read with certainty among other words; never a failure."""
        return None


@dataclass
class Option:
    value: str
    label: str  # quick-reply label (<= 14 characters)
    words: tuple[str, ...] = ()  # typed answers that mean this option (compared without spaces)
    text: str | None = None  # messageText when it differs from the label


def answered_with(c: Conv, step_name: str, value: Any, notice: str) -> Go | dict:
    """`step_name`'s answer typed together with the current one ('홍길동 010-1234-5678' at the
    name): that step takes it at once, and what it leads to is shown after `notice`."""
    outcome = c.dialog.steps[step_name].apply(c, value)
    if isinstance(outcome, Go):
        outcome.notice = "\n".join(n for n in (notice, outcome.notice) if n)
    return outcome


def match_option(options: Sequence[Option], answer: Answer, yes: str | None = None,
                 no: str | None = None) -> Option | None:
    """The option a tap names, or the one typed: an exact label/word first, then yes or no in
    their common forms (answers.yes_no) as the options `yes` and `no` when given, then a word
    the text contains (longest word wins, so '필수만 동의' is not read as '동의')."""
    if answer.tapped:
        for option in options:
            if option.value == answer.value:
                return option
        return None
    typed = squash(answer.text)
    if not typed or asks_about(options, answer):  # "지역화폐는 어디서 써요?" chooses nothing
        return None
    for option in options:
        if typed in {squash(option.label), squash(option.value), *(squash(w) for w in option.words)}:
            return option
    polarity = answers.yes_no(answer.text) if (yes or no) else None
    wanted = yes if polarity is True else (no if polarity is False else None)
    if wanted is not None:
        for option in options:
            if option.value == wanted:
                return option
    if answers.says_any(typed, "unsure"):
        return None  # "아파트라서 잘 모르겠어요": a word of an option, said unsure; no guess is taken
    # "관리비 말고 따로 내요", "개인 아니고 가게예요": what follows the contrast is the answer
    for marker in answers.words("negation.contrast"):
        m = squash(marker)
        if m and m in typed and typed.rsplit(m, 1)[1]:
            typed = typed.rsplit(m, 1)[1]
    best, best_len, best_word = None, 0, ""
    for option in options:
        for word in (option.label, *option.words):
            w = squash(word)
            if len(w) >= 2 and w in typed and len(w) > best_len:
                best, best_len, best_word = option, len(w), w
    if best is not None:
        # "관리비 아니에요", "관리비에 포함 안 돼요": that option denied, and which one is meant is
        # not said; the question is asked again (an option's own word may say it: "사용 안 함")
        after = typed[typed.find(best_word) + len(best_word):]
        denial = [squash(n) for n in answers.words("negation.words")]
        if any(n and n in after for n in denial) and not any(n and n in best_word for n in denial):
            # a yes-or-no question: denying one answer is the other ("본인 아니에요": no)
            other = {yes: no, no: yes}.get(best.value) if yes and no else None
            return next((o for o in options if other is not None and o.value == other), None)
    return best


def asks_about(options: Sequence[Option], answer: Answer) -> bool:
    """Typed text that is plainly a question ("지역화폐는 어디서 써요?", "필수만 동의하면 뭐가
    달라요?"): it may name an option and chooses none (the dialog answers it and asks again),
    unless it is an option's label or word as it stands ("관리비 합산?", said unsure)."""
    if answer.tapped or not (answer.asked or answers.asks(answer.text)):
        return False
    typed = squash(answer.text).rstrip("?\uff1f")
    return not any(typed in {squash(o.label), *(squash(w) for w in o.words)} for o in options)


class ChoiceStep(Step):
    """A closed question answered by a quick reply (or the same words typed)."""

    question: str = ""  # text key
    hint: str = ""  # text key of the re-ask hint
    yes: str | None = None  # the option a typed yes ('네', 'ㅇㅇ', '넵') chooses
    no: str | None = None  # the option a typed no ('아니요', 'ㄴㄴ') chooses
    # A confirmation of what cannot be undone (withdrawal, leaving, saving a move, joining):
    # typed text that reads as a question ("탈퇴하면 포인트는 어떻게 돼요?") is answered and the
    # question asked again, never taken for the choice its words name.
    confirms: bool = False
    # A confirmation opened by one request, with nothing typed that would be lost (withdrawal,
    # unlinking): typed text that is no option and has none of these words (answers.toml key)
    # is about something else; the confirmation ends and the router answers the text.
    keep_words: str | None = None

    def options(self, c: Conv) -> list[Option]:
        raise NotImplementedError

    def lets_go(self, answer: Answer) -> bool:
        if self.keep_words is None or answer.tapped:
            return False
        typed = answers.squash(answer.text)
        return not answers.says_any(typed, self.keep_words)

    def question_text(self, c: Conv) -> str:
        return c.t(self.question)

    def extra_outputs(self, c: Conv) -> list:
        return []

    def ask(self, c: Conv) -> Prompt:
        qrs = [c.qr(o.label, o.value, text=o.text) for o in self.options(c)]
        return Prompt([SimpleText(fit_text(self.question_text(c), limits.SIMPLE_TEXT_MAX)), *self.extra_outputs(c)], qrs)

    def parse(self, c: Conv, answer: Answer) -> str:
        if self.confirms and not answer.tapped and (answer.asked or answers.looks_like_question(answer.text)):
            # the dialog answers it if the FAQ can; else the card's own explanation, again
            raise Invalid(c.t("signup.common.confirm_question", call_centre=c.ctx.settings.call_centre))
        option = match_option(self.options(c), answer, self.yes, self.no)
        if option is None:
            raise Invalid(c.t(self.hint or "signup.invalid_choice"))
        return option.value


class TextStep(Step):
    """A free-text question checked by `check(c, text)` (raises Invalid)."""

    question: str = ""
    skip_label: str | None = None  # text key; when set, a skip quick reply (or a typed skip or no) answers None

    def question_text(self, c: Conv) -> str:
        return c.t(self.question)

    def quick_replies(self, c: Conv) -> list:
        return [c.qr(c.t(self.skip_label), "skip")] if self.skip_label else []

    def ask(self, c: Conv) -> Prompt:
        return Prompt([SimpleText(fit_text(self.question_text(c), limits.SIMPLE_TEXT_MAX))], self.quick_replies(c))

    def parse(self, c: Conv, answer: Answer) -> Any:
        if self.skip_label and (answer.value == "skip" or squash(answer.text) == squash(c.t(self.skip_label))
                                or answers.in_words(answer.text, "skip") or answers.yes_no(answer.text) is False):
            return None
        if answer.tapped:
            raise Invalid(c.t(self.question))
        return self.check(c, answer.text)

    def check(self, c: Conv, text: str) -> Any:
        raise NotImplementedError


TRAIL = "_trail"  # slots: [{"step", "slots"}], the snapshots "이전" goes back to, newest last
START = "_start"  # slots: the snapshot before the first answer, where "처음부터" goes
REQUEST_STEPS_MAX = 4  # questions one typed request may answer in a row (Step.from_request)


def _snapshot(slots: dict) -> dict:
    return {k: v for k, v in slots.items() if k not in (TRAIL, START)}


class StepDialog:
    """Runs a table of steps for the router (the `Dialog` protocol of bot.app)."""

    name: str = ""
    skill: str = ""
    text_area: str = ""
    first: str = ""
    resumed_key: str = "signup.common.resumed"  # the notice shown when the dialog is resumed
    # "이전" takes back the last answer, "처음부터" all of them. Only for a dialog whose steps
    # write nothing before its end: going back restores the slots, never a database row.
    undo: bool = False
    later_key: str = "signup.common.change_later"  # where a changeable step's answer is changed later
    undo_depth: int = 8  # answers that can be taken back one by one (snapshots kept in the slots)
    # what "이전" gets when no earlier answer is kept ("" = a plain notice)
    back_key: str = ""

    def __init__(self, app, steps: Iterable[Step]) -> None:
        self.app = app
        self.steps: dict[str, Step] = {s.name: s for s in steps}

    # -- hooks for subclasses ---------------------------------------------------------------
    def begin(self, ctx: Ctx, step: str | None = None, slots: dict | None = None) -> dict:
        """Start at `step` with `slots` and ask the first question."""
        ctx.dialog.begin(self.name, step or self.first, slots or {})
        self.app.dialog_event(self.name, "started")
        return self.render(ctx, step or self.first)

    def orphan_tap(self, ctx: Ctx) -> dict:
        """A button of this dialog tapped while it is not running (expired, finished, old)."""
        return ui.menu_reply(ctx, texts.t("common.session_expired"))

    def info_text(self, ctx: Ctx, extra: dict) -> str | None:
        """Text shown for an `info` tap (e.g. a consent's summary) before the question."""
        return None

    def aside(self, ctx: Ctx, step: Step, text: str) -> dict | None:
        """A dialog's own reply to text its step could not take (e.g. the signup offering the
        link to "이미 회원이에요"), before FAQ answers; None: nothing of its own."""
        return None

    def asks_other(self, ctx: Ctx, text: str) -> bool:
        """Does the text ask for something `aside` would open in place of this dialog's step
        (then a word such as '잘못' in it is not a wish to go back)? Nothing, by default."""
        return False

    def faq_answer(self, ctx: Ctx, text: str, asked: bool = False, topic: str = "") -> str | None:
        """The answer to a question typed instead of the step's answer (only asked after the
        step could not parse the text, so an answer is never taken for a question); `asked`:
        it was typed with a question mark; `topic`: the step's own FAQ (Step.topic_faq)."""
        from bot.dialogs import faq

        return faq.answer_text(ctx, faq.dialog_question(text, asked, topic))

    # -- Dialog protocol --------------------------------------------------------------------
    def ask_unless_requested(self, ctx: Ctx, step_name: str, notice: str | None = None) -> dict:
        """Ask `step_name`, the dialog's first, unless the typed request that opened it already
        answers it (Step.from_request): then that answer is taken and the next step asked. A
        question ("번호 010-1234-5678 맞나요?") answers nothing."""
        step = self.steps[step_name]
        if not ctx.turn.client_extra and ctx.turn.utterance and not answers.looks_like_question(ctx.turn.utterance):
            c = Conv(self, ctx)
            text = normalise(ctx.turn.utterance)
            notices = [notice]
            for _ in range(REQUEST_STEPS_MAX):  # "수도 고객번호 1234567로 바꿔줘": the resource, then its number
                value = step.from_request(c, text)
                if value is None:
                    break
                before = _snapshot(ctx.dialog.slots)
                outcome = step.apply(c, value)
                if not isinstance(outcome, Go):
                    return outcome
                self.remember(ctx, step.name, before)
                ctx.dialog.goto(outcome.step)
                notices.append(outcome.notice)
                step = self.steps[outcome.step]
            return self.render(ctx, step.name, notice="\n".join(n for n in notices if n) or None)
        return self.render(ctx, step_name, notice=notice)

    def start(self, ctx: Ctx) -> dict:
        if ctx.dialog.active and ctx.dialog.name == self.name and ctx.dialog.step in self.steps:
            return self.render(ctx, ctx.dialog.step, notice=texts.t(self.resumed_key))
        return self.begin(ctx)

    def reprompt(self, ctx: Ctx) -> dict:
        step = ctx.dialog.step
        if step is None or step not in self.steps:  # a state saved before a step was renamed
            return self.begin(ctx)
        return self.render(ctx, step)

    def cancel(self, ctx: Ctx) -> None:
        """Nothing is kept outside the dialog state, which the router ends."""

    def handle(self, ctx: Ctx) -> dict | None:
        extra = ctx.turn.client_extra or {}
        mine = extra.get("dialog") == self.name
        running = ctx.dialog.active and ctx.dialog.name == self.name and ctx.dialog.step in self.steps
        if not running:
            return self.orphan_tap(ctx) if mine else None
        c = Conv(self, ctx)
        step = self.steps[str(ctx.dialog.step)]  # `running` checked it is one of ours
        before = _snapshot(ctx.dialog.slots)
        action = extra.get("action") if mine else None
        if action in ("retry", "resume"):
            ctx.dialog.goto(step.name)  # resets the failure count
            return self.render(ctx, step.name)
        if action == "info":
            return self.render(ctx, step.name, notice=self.info_text(ctx, extra))
        if action == "faq":
            from bot.dialogs import faq

            intent = extra.get("intent")
            known = isinstance(intent, str) and intent in faq.INTENTS
            return self.render(ctx, step.name, notice=faq.answer_text(ctx, intent) if known else None)
        if extra and not mine and not isinstance(extra.get("faq"), str):
            # A button of another feature (a campaign card, a menu with its own extra): not an
            # answer to this dialog; the router routes it by skill or keyword, the dialog waits.
            return None
        if not mine and isinstance(extra.get("faq"), str):
            # A FAQ list item tapped mid-dialog: answer it and repeat the pending question.
            from bot.dialogs import faq

            return self.render(ctx, step.name, notice=faq.answer_text(ctx, extra["faq"]))
        if mine and "step" in extra:
            if not step.tap_matches(c, extra):
                if self.retap_previous(ctx, extra):  # "잘못 눌렀네": the right button of the card before
                    return self.handle(ctx)
                ctx.log.debug("stale tap", extra={"dialog": self.name, "step": step.name})
                return self.render(ctx, step.name, notice=texts.t("signup.common.stale_tap"))
            answer = Answer(normalise(ctx.turn.utterance), dict(extra), True)
        else:
            typed = (ctx.turn.utterance or "").rstrip(" .!~")
            said = answers.emoji_as_word(ctx.turn.utterance)  # a lone "👍" is a yes
            answer = Answer(normalise(said), {}, False, typed.endswith(("?", "\uff1f")))
        if not answer.tapped and answers.looks_like_rrn(answer.text):
            # A resident registration number the router's check did not see (full-width, dotted):
            # refused the same way, nothing of it kept, not counted as a failure.
            ctx.log.info("rrn refused in a dialog answer", extra={"dialog": self.name, "step": step.name})
            return self.render(ctx, step.name, notice=texts.t("common.rrn_refused"))
        own_skill_text = not answer.tapped and ctx.turn.skill == self.skill
        if not answer.tapped and handoff.asks_for_person(answer.text):
            # "상담원 연결해줘" is not a name: where to find a person, then the question again
            ctx.outcome = "handoff"
            key = "understanding.human_in_dialog"
            return self.render(ctx, step.name, notice=texts.t(key, call_centre=ctx.settings.call_centre))
        if isinstance(step, TextStep):
            # a free-text question takes almost any words ("이전 단계로 갈래요" would be a name):
            # a wish to go back is heard first ("이전" alone, a name too, is not)
            moved = self.navigate(ctx, step, answer, exact=False)
            if moved is not None:
                return moved
        if not answer.tapped and not getattr(step, "confirms", False):
            both = self.answer_and_question(ctx, c, step, before)
            if both is not None:
                return both
        try:
            value = step.parse(c, answer)
        except Invalid as bad:
            if isinstance(step, ChoiceStep) and step.lets_go(answer):
                # "알림 너무 많이 와요" at the withdrawal's confirmation: not about it
                ctx.dialog.end()
                return None
            if own_skill_text:
                # The dialog's own block reached by typing (e.g. '회원가입' again): resume.
                return self.render(ctx, step.name, notice=texts.t(self.resumed_key))
            if not answer.tapped:
                said = self.step_note(step, answer.text)
                if said:  # asked about the step itself: the answer, then the question again
                    return self.render(ctx, step.name, notice=c.t(said))
            if not answer.tapped and not answer.asked and not answers.asks(answer.text):
                typed = answers.squash(answer.text)
                if answers.says_any(typed, "pause"):
                    # "잠깐만요", "고지서 찾아볼게요": nothing is lost while they look
                    ctx.dialog.keep()
                    hours = int(ctx.settings.dialog_ttl_hours)
                    return self.render(ctx, step.name, notice=texts.t("signup.common.pause", hours=hours))
                moved = self.navigate(ctx, step, answer, exact=True)
                if moved is not None:
                    return moved
                if answers.says_any(typed, "stop") and step.ask(c).cancel:
                    # "가입 안 할래요", "그만둘게요": the way out is the cancel button, which asks
                    # nothing more; a sentence that merely contains a stop word ends nothing
                    return self.render(ctx, step.name, notice=texts.t("signup.common.stop"))
            if not answer.tapped and step.topic_faq and answers.asks_where_about_it(answer.text):
                from bot.dialogs import faq

                return self.render(ctx, step.name, notice=faq.answer_text(ctx, step.topic_faq))
            if not answer.tapped:
                aside = self.aside(ctx, step, answer.text)
                if aside is not None:
                    return aside
                answered = self.faq_answer(ctx, answer.text, answer.asked, step.topic_faq)
                if answered:
                    return self.render(ctx, step.name, notice=answered)
                router = getattr(self.app, "router", None)
                shown = router.side_request(ctx, answer.text) if router is not None else None
                if shown is not None:  # "내 포인트 얼마야": shown, this dialog waits
                    return shown
                if (answer.asked or answers.asks(answer.text)) and not getattr(step, "confirms", False):
                    # a plain question no answer was sure of: the FAQ it may be, or where to ask;
                    # no wrong answer counted ("가입하면 포인트 얼마 받아요?" at the name)
                    return self.unsure_question(ctx, step, answer.text, bad.hint)
            if not answer.tapped and not answers.fold(ctx.turn.utterance):
                # emoji only (dropped from answers): asked again, no wrong answer counted
                return self.render(ctx, step.name, notice=bad.hint)
            return self.failed(ctx, step, bad.hint)
        outcome = step.apply(c, value)
        if isinstance(outcome, Go):
            self.remember(ctx, step.name, before)
            ctx.dialog.goto(outcome.step)
            return self.render(ctx, outcome.step, notice=outcome.notice)
        return outcome

    def answer_and_question(self, ctx: Ctx, c: Conv, step: Step, before: dict) -> dict | None:
        """An answer with a question after it ("홍길동인데 이름은 왜 물어봐요?"): the answer taken
        as if typed alone, the question answered (about the step, or a FAQ) before the next
        question; None when the message does not split so (answers.answer_then_question) or its
        answer part is no answer here (then it is read whole)."""
        split = answers.answer_then_question(ctx.turn.utterance)
        if split is None:
            return None
        head, question = split
        whole = ctx.turn
        ctx.turn = replace(whole, utterance=head)  # steps that read the typed text read the answer
        try:
            try:
                value = step.parse(c, Answer(normalise(head), {}, False))
            except Invalid:
                return None
            outcome = step.apply(c, value)
        finally:
            ctx.turn = whole
        note = self.step_note(step, question)
        said = c.t(note) if note else None
        more: list = []
        if said is None and answers.has_subject(question):  # "이거 맞나요?" asks nothing to answer
            asked = answers.without_openers(question)
            said = self.faq_answer(ctx, asked, True, step.topic_faq)
            if said is None and isinstance(outcome, Go):  # the FAQs it came close to, at the next step
                more = self.faq_choices(ctx, self.steps[outcome.step], asked)
            if said is None:
                said = texts.t("signup.common.question_choices" if more else "signup.common.question_unanswered",
                               call_centre=ctx.settings.call_centre)
        if not isinstance(outcome, Go):  # the dialog's own reply (a change saved): the answer said with it
            return ui.with_note(outcome, said) if said else outcome
        self.remember(ctx, step.name, before)
        ctx.dialog.goto(outcome.step)
        return self.render(ctx, outcome.step, notice="\n".join(n for n in (outcome.notice, said) if n) or None,
                           more=more)

    # -- going back ---------------------------------------------------------------------------
    def remember(self, ctx: Ctx, step_name: str, before: dict) -> None:
        """Keep what the slots were before `step_name`'s answer moved the dialog on."""
        if not self.undo or not ctx.dialog.active:
            return
        entry = {"step": step_name, "slots": before}
        trail = [*(ctx.dialog.slots.get(TRAIL) or []), entry][-self.undo_depth:]
        ctx.dialog.update(**{TRAIL: trail, START: ctx.dialog.slots.get(START) or entry})

    def _restore(self, ctx: Ctx, entry: dict, trail: list) -> None:
        slots = dict(entry["slots"])
        slots[TRAIL] = trail
        if ctx.dialog.slots.get(START):
            slots[START] = ctx.dialog.slots[START]
        ctx.dialog.begin(self.name, entry["step"], slots)

    def _kept(self, entry: Any) -> bool:
        return isinstance(entry, dict) and entry.get("step") in self.steps and isinstance(entry.get("slots"), dict)

    def navigate(self, ctx: Ctx, step: Step, answer: Answer, exact: bool) -> dict | None:
        """"처음부터" or "이전" typed (not asked): the dialog goes there; None otherwise.
        `exact`: the whole answer "이전" counts too (said where it cannot be an answer)."""
        if not self.undo or answer.tapped or answer.asked or answers.asks(answer.text):
            return None
        if self.asks_other(ctx, answer.text):  # "주소 잘못 입력했어요" in my info: the move, not back
            return None
        typed = answers.squash(answer.text)
        if answers.says_any(typed, "restart"):
            return self.restart(ctx, step)
        if answers.says_any(typed, "back") or (exact and answers.in_words(answer.text, "back_exact")):
            return self.go_back(ctx, step)
        return None

    def go_back(self, ctx: Ctx, step: Step) -> dict:
        trail = list(ctx.dialog.slots.get(TRAIL) or [])
        if not trail or not self._kept(trail[-1]):
            start = ctx.dialog.slots.get(START)
            first = not start or (start.get("step") == step.name and not trail)
            key = "common.dialog.first_question" if first else (self.back_key or "common.dialog.no_earlier")
            return self.render(ctx, step.name, notice=texts.t(key))
        entry = trail.pop()
        self._restore(ctx, entry, trail)
        self.app.dialog_event(self.name, "went_back")
        return self.render(ctx, entry["step"], notice=texts.t("common.dialog.went_back"))

    def restart(self, ctx: Ctx, step: Step) -> dict:
        start = ctx.dialog.slots.get(START)
        if not isinstance(start, dict) or not self._kept(start) or (
                start["step"] == step.name and not ctx.dialog.slots.get(TRAIL)):
            return self.render(ctx, step.name, notice=texts.t("common.dialog.first_question"))
        self._restore(ctx, start, [])
        self.app.dialog_event(self.name, "restarted")
        return self.render(ctx, start["step"], notice=texts.t("common.dialog.restarted"))

    def retap_previous(self, ctx: Ctx, extra: dict) -> bool:
        """A tap on the previous question's button (a card stays on screen; the wrong one was
        tapped): that answer is taken back so the tap answers the question again. False, and
        nothing changed, when the tap is not for the question just answered as it stood."""
        trail = list(ctx.dialog.slots.get(TRAIL) or [])
        if not self.undo or not trail or not self._kept(trail[-1]) or trail[-1]["step"] != extra.get("step"):
            return False
        now = (str(ctx.dialog.step), dict(ctx.dialog.slots))
        entry = trail.pop()
        self._restore(ctx, entry, trail)
        if self.steps[entry["step"]].tap_matches(Conv(self, ctx), extra):
            return True
        ctx.dialog.begin(self.name, now[0], now[1])  # a button of another round of that step
        return False

    def step_note(self, step: Step, text: str) -> str:
        """The text key answering what was typed about the step itself, or "": what it takes in
        a situation ("집전화도 돼요?"), why it is asked ("왜요", "주소 꼭 써야 해요?"), whether its
        answer changes later ("나중에 바꿀 수 있어요?"), or what it means ("세대주가 뭐예요?",
        before any FAQ its words resemble)."""
        typed = answers.squash(text)
        # a situation the step names ("가족 계좌는 안 돼요?") says more than any "why" in it
        noted = next((key for words, key in step.notes if answers.says_any(typed, words)), "")
        if noted:
            return noted
        if step.why and answers.asks_why(text):
            return step.why
        if answers.says_any(typed, "change_later"):
            later = step.later or (self.later_key if step.changeable else "")
            if later:
                return later
        if step.about and answers.asks_about_step(text, step.about_words):
            return step.about
        return ""

    def faq_choices(self, ctx: Ctx, step: Step, text: str) -> list[QuickReply]:
        """A button for each FAQ a question no answer was sure of came close to, as many as
        `step`'s quick replies leave room for; each answers and asks `step` again."""
        from bot import understanding
        from bot.dialogs import faq

        if len(answers.substance(text)) < 3:  # "어떻게 해요": about nothing the choices could say
            return []
        c = Conv(self, ctx)
        room = limits.QUICK_REPLIES_MAX - len(step.ask(c).quick_replies) - 1  # the cancel button
        choices = [i for i in understanding.understand(text).choices if i in faq.INTENTS][:max(0, room)]
        return [c.action_qr(understanding.label(i), "faq", intent=i, text=understanding.label(i)) for i in choices]

    def unsure_question(self, ctx: Ctx, step: Step, text: str, hint: str) -> dict:
        """The step asked again after a question no FAQ answered surely: the FAQ choices it came
        close to as buttons (each answers and asks the step again); else, at a closed question,
        how to answer it (`hint`: "어떻게 해요" at a yes/no), and at an open one, where to ask."""
        more = self.faq_choices(ctx, step, text)
        if more:
            notice = texts.t("signup.common.question_choices")
        elif isinstance(step, ChoiceStep):
            notice = hint
        else:
            notice = texts.t("signup.common.question_unknown", call_centre=ctx.settings.call_centre)
        return self.render(ctx, step.name, notice=notice, more=more)

    def failed(self, ctx: Ctx, step: Step, hint: str) -> dict:
        count = ctx.dialog.fail()
        self.app.dialog_event(self.name, "invalid_answer")
        ctx.log.debug("invalid answer", extra={"dialog": self.name, "step": step.name, "failures": count})
        if count % max(1, ctx.settings.max_failures) == 0:
            return self.help_offer(ctx)
        return self.render(ctx, step.name, notice=hint)

    def help_offer(self, ctx: Ctx) -> dict:
        s = ctx.settings
        c = Conv(self, ctx)
        card = TextCard(
            title=texts.t("signup.common.help_title"),
            description=texts.t("signup.common.help_body", call_centre=s.call_centre),
            buttons=[Button.phone(texts.t("signup.common.call_label"), s.call_centre),
                     Button.web_link(texts.t("signup.common.website_label"), s.website)],
        )
        qrs = [c.action_qr(texts.t("signup.common.retry_label"), "retry"),
               ui.qr(ctx, texts.t("signup.common.faq_label"), "help", {"view": "faq"}, texts.t("signup.common.faq_text")),
               c.cancel_qr()]
        self.app.dialog_event(self.name, "help_offered")
        return ui.reply([card], qrs)

    # -- rendering --------------------------------------------------------------------------
    def render(self, ctx: Ctx, step_name: str, notice: str | None = None, more: list | None = None) -> dict:
        """The step's question (after `notice`); `more`: quick replies after the step's own."""
        c = Conv(self, ctx)
        prompt = self.steps[step_name].ask(c)
        qrs = [*prompt.quick_replies, *(more or ())]
        if prompt.cancel and len(qrs) < limits.QUICK_REPLIES_MAX:
            qrs.append(c.cancel_qr())
        outputs = list(prompt.outputs)
        if notice and not isinstance(outputs[0], SimpleText) and len(outputs) >= limits.OUTPUTS_MAX:
            outputs = outputs[: limits.OUTPUTS_MAX - 1]
        response = ui.reply(outputs, qrs[: limits.QUICK_REPLIES_MAX])
        return ui.prepend_text(response, notice) if notice else response
