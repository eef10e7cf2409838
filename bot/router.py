"""The dispatcher: every turn of every skill URL goes through `Router.route`.

Order: words that always work (취소, 처음으로), refusal of resident registration numbers,
the dialog a tapped button belongs to, the user's active dialog, a tapped choice that names an
intent, the skill of the URL, and finally free text through understanding (bot/understanding):
a confident intent is answered (FAQ answer, skill, small talk), a close call offers the top
choices, and nothing understood gets the menu and a way to reach a person."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot import handoff, texts, ui, understanding
from bot.app import BotApp
from bot.context import Ctx
from bot.dialogs import answers, campaigns, chat, faq, greenlife, privacy
from core import members as M
from core import unmatched
from core.clock import utcnow_naive
from core.pii import contains_rrn

# Intents that run a skill of the same name; FAQ intents are answered by the faq skill.
SKILL_INTENTS = ("signup", "balance", "campaigns", "greenlife", "myinfo", "help")
# Features that only show something: asked for at a dialog's step, they are shown and the
# dialog waits (Router.side_request).
SIDE_INTENTS = ("balance", "campaigns", "help", "faq_list")
# FAQ intents that, said by a member as a request rather than a question ("계좌 바꾸고 싶어요",
# "이사했어요"), open the my-info change itself instead of saying where to find it.
MEMBER_FLOWS: dict[str, str | None] = {"change_account": "account", "moving_house": "move", "change_incentive": "incentive",
                                       # only when the words name a change: a bill in a new name needs none,
                                       # 'which resources count' is a question ('가스 안 써요 이제' is not)
                                       "holder_change": None, "resources": None}

_SPACE = re.compile(r"\s+")
# A photo, file or emoticon sent to the channel reaches the skill as its link (a kakaocdn URL),
# or with userRequest.params.media. A photo of a bill shows a name, an address and numbers.
_LINK_ONLY = re.compile(r"^\s*https?://\S+\s*$")


def sent_media(turn) -> bool:
    """The turn carries a photo, file or emoticon rather than typed words."""
    params = turn.raw.get("userRequest", {}).get("params") if isinstance(turn.raw, dict) else None
    media = params.get("media") if isinstance(params, dict) else None
    return bool(_LINK_ONLY.match(turn.utterance or "")) or isinstance(media, dict)


_FEELING_MARKS = "~!.^;\u2661\u2665"  # typed around laughter: ~ ! . ^ ; and hearts
_WORDY = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]")  # a digit, a Latin letter or a Hangul syllable


@lru_cache(maxsize=1)
def _laughter() -> tuple[str, re.Pattern]:
    """The laughter letters of spellings.toml (ㅋ, ㅎ) and the pattern of a message made of them."""
    letters = "".join(texts.raw("spellings", lang="ko").get("laughter", ()))
    return letters, re.compile(f"[{re.escape(letters + _FEELING_MARKS)}\\s]+")


def only_feelings(text: str | None) -> bool:
    """Laughter or emoji and nothing else ("ㅋㅋㅋ", "👍", "😊😊"): a feeling, not a question.
    Tears ("ㅠㅠ") are not: they may say something went wrong, and get the way to a person."""
    t = (text or "").strip()
    if not t or _WORDY.search(t):  # a letter or a digit: words (nearly every message)
        return False
    letters, pattern = _laughter()
    if letters and pattern.fullmatch(t) and any(ch in letters for ch in t):
        return True
    return all(unicodedata.category(ch) in ("So", "Sk", "Mn", "Cf", "Zs") or ch in "\ufe0f\u200d" for ch in t) \
        and any(unicodedata.category(ch) == "So" for ch in t)


def normalise(text: str) -> str:
    return _SPACE.sub(" ", (text or "").strip()).rstrip(".!?~ ")


class Router:
    def __init__(self, app: BotApp) -> None:
        self.app = app
        self.unmatched = unmatched.Buffer()  # questions not understood, written in batches
        self.cancel_words: set[str] = set()
        self.home_words: set[str] = set()
        self.language_words: dict[str, str] = {}  # lower-cased word -> language it switches to
        self.small_words: dict[str, str] = {}  # lower-cased acknowledgement or goodbye -> which
        self.fillers: set[str] = set()  # said before one ("음 잘 모르겠어요")
        for lang in texts.LANGUAGES:
            kw = texts.raw("keywords", lang=lang)
            self.cancel_words |= set(kw["cancel"])
            self.home_words |= set(kw["home"])
            for target in texts.LANGUAGES:
                self.language_words.update({w.lower(): target for w in kw.get("language", {}).get(target, ())})
            self.fillers |= {w.lower() for w in kw.get("filler", ())}
            for kind in ("ack", "bye", "dunno"):
                self.small_words.update({w.lower(): kind for w in kw.get(kind, ())})
        self.intents = frozenset(understanding.intents())
        # a menu label typed as it is ("포인트 조회"): the skill it names, also mid-dialog
        self.menu_skills: dict[str, str] = {
            label: key for lang in texts.LANGUAGES
            for key, label in texts.raw("common", lang=lang)["menu"].items()
            if key in SKILL_INTENTS and isinstance(label, str)}

    # -- helpers ------------------------------------------------------------
    def small_talk(self, text: str | None) -> str | None:
        """'ack', 'bye' or 'dunno' for a message of such words only: one listed phrase, or listed words
        with laughter or emoji between them ("네 알겠습니다", "아 넵 확인했어요 ㅋㅋ")."""
        words = [w.strip(".,!?~^") for w in normalise(text or "").lower().split()]
        words = [w for w in words if w and not only_feelings(w)]
        while len(words) > 1 and words[0] in self.fillers:  # "음 잘 모르겠어요"
            words.pop(0)
        said = " ".join(words)
        if said in self.small_words:
            return self.small_words[said]
        kinds = {self.small_words.get(w) for w in words}
        return kinds.pop() if len(words) > 1 and len(kinds) == 1 and None not in kinds else None

    def skill_of(self, intent: str) -> str:
        """The skill whose block an intent's quick reply uses."""
        if intent in SKILL_INTENTS:
            return intent
        if intent == "greeting":
            return "welcome"
        if intent in ("withdraw", "notify"):
            return "myinfo"
        if intent == "link":
            return "link"
        if intent in faq.INTENTS or intent == "faq_list":
            return "faq"
        return "help"

    def run_intent(self, ctx: Ctx, intent: str) -> dict:
        """The answer to an understood intent."""
        my_info = self._my_info() if intent in MEMBER_FLOWS or intent == "withdraw" else None
        if my_info is not None and intent in MEMBER_FLOWS and not answers.looks_like_question(ctx.turn.utterance):
            from bot.dialogs.myinfo import current_member, flow_for_text

            if current_member(ctx) is not None:  # a non-member gets the FAQ's answer below
                # the change the words name wins over the intent's ('이메일 주소 바꿀래요' reads as a move)
                named = flow_for_text(ctx.turn.utterance)
                flow = named if named not in (None, "withdraw") else MEMBER_FLOWS[intent]
                if flow is not None:
                    return my_info.open_flow(ctx, flow)
        if intent in faq.INTENTS:
            return faq.answer_reply(ctx, intent)
        if intent == "faq_list":
            return faq.list_reply(ctx)
        if intent in SKILL_INTENTS and intent in self.app.skills:
            return self.app.skills[intent](ctx)
        if intent == "greeting" and "welcome" in self.app.skills:
            return self.app.skills["welcome"](ctx)
        if intent == "withdraw" and my_info is not None:
            return my_info.open_flow(ctx, "withdraw")  # a non-member is told so by open_flow
        if intent == "notify" and "notify" in self.app.dialogs:
            from bot.dialogs import notify

            dialog = self.app.dialogs["notify"]
            assert isinstance(dialog, notify.NotifyDialog)
            return dialog.handle(ctx)  # typed: a change named with its topic is made, else the screen
        if intent == "link" and "link" in self.app.dialogs:
            from bot.dialogs.link import LinkDialog

            linking = self.app.dialogs["link"]
            assert isinstance(linking, LinkDialog)
            return linking.open(ctx)  # a member already linked is told so
        if intent == "human":
            return chat.human_reply(ctx)
        if intent == "thanks":
            return chat.thanks_reply(ctx)
        if intent == "insult":
            return chat.insult_reply(ctx)
        return chat.not_understood_reply(ctx)

    def _my_info(self):
        """The my-info dialog, typed (its flows are opened by intents), or None."""
        from bot.dialogs import myinfo

        dialog = self.app.dialogs.get("myinfo")
        return dialog if isinstance(dialog, myinfo.MyInfoDialog) else None

    def understand(self, ctx: Ctx) -> dict:
        """Free text no dialog or skill claimed."""
        if not (ctx.turn.utterance or "").strip():
            return self.app.skills["fallback"](ctx)
        small = self.small_talk(ctx.turn.utterance) or ("smile" if only_feelings(ctx.turn.utterance) else None)
        if small is not None and not ctx.dialog.active:  # "네", "알겠어요", "잘가요", "ㅋㅋ", "👍" after an answer
            ctx.intent = small
            return ui.menu_reply(ctx, texts.t(f"understanding.{small}"))
        if "campaigns" in self.app.skills:
            named = campaigns.named_reply(ctx)  # a campaign's title typed ("냉방 1도 올리기 참여할래요")
            if named is not None:
                ctx.intent = "campaigns"
                return named
        joining = self.app.dialogs.get("greenlife")
        if joining is not None and greenlife.asks_to_join(ctx.turn.utterance):  # "녹색생활 가입할래요"
            assert isinstance(joining, greenlife.GreenlifeDialog)
            ctx.intent = "greenlife"
            return joining.open_join(ctx)
        u = understanding.understand(ctx.turn.utterance)
        ctx.intent = u.intent if u.outcome == "confident" else u.outcome
        ctx.log.debug("understood", extra={"outcome": u.outcome, "intent": u.intent,
                                           "choices": list(u.choices)})
        if u.outcome == "confident" and u.intent is not None:
            return self.run_intent(ctx, u.intent)
        if u.outcome == "close":
            changing = self._change_asked(ctx)  # "가스 고객번호 바꿀래요": a member's change, unsure
            if changing is not None:
                return changing
        if u.outcome != "close" and answers.personal_data_alone(ctx.turn.utterance):
            # "0419283746", an address sent alone: not kept anywhere, nor taken for a question
            ctx.intent = ctx.outcome = "data_alone"
            return ui.menu_reply(ctx, texts.t("understanding.data_alone"))
        self._queue_unmatched(ctx, u)
        if u.outcome == "close":
            ctx.outcome = "close_call"
            return chat.choices_reply(ctx, [(i, self.skill_of(i)) for i in u.choices])
        if handoff.note_not_understood(ctx):  # HANDOFF_AFTER_NOT_UNDERSTOOD in a row: a person
            return chat.human_reply(ctx, handoff=True)
        return chat.not_understood_reply(ctx)

    def _change_asked(self, ctx: Ctx) -> dict | None:
        """A member's typed request to change what my info holds, which the classifier was unsure
        about: a change word and a flow's word (answers.toml [flows]), not a question; the flow
        opens, taking what the request holds (Step.from_request). None otherwise."""
        from bot.dialogs.myinfo import asks_change, current_member, flow_for_text

        text = ctx.turn.utterance
        my_info = self._my_info()
        if my_info is None or not asks_change(text):
            return None
        flow = flow_for_text(text)
        if flow in (None, "withdraw") or current_member(ctx) is None:
            return None
        ctx.intent = "myinfo"
        return my_info.open_flow(ctx, flow)

    def _queue_unmatched(self, ctx: Ctx, u: understanding.Understood) -> None:
        """Keep the message for operators (core.unmatched masks digit runs), never when it was
        typed while a dialog waits at a personal-data step."""
        if ctx.dialog.active and privacy.is_personal(ctx.dialog.name, ctx.dialog.step):
            return
        # the turn's first read already said whether a member has this key: most do not
        member = None if ctx.member_reach == () else M.member_for_user(ctx.session, ctx.turn.user_key,
                                                                        ctx.turn.app_user_id)
        guesses = [(s.intent, s.score) for s in u.result.ranked[:3] if s.intent != understanding.OUT_OF_SCOPE]
        values = unmatched.row_values(utcnow_naive(ctx.clock), ctx.turn.utterance, u.outcome, guesses,
                                      member.local_government_code if member is not None else None)
        self.unmatched.max_age = ctx.settings.unmatched_flush_seconds
        db = ctx.services.db
        # after the turn commits: a write of its own in the middle of the turn would make the
        # turn's write (e.g. the not-understood count, bot.handoff) conflict with it
        ctx.after_commit.append(lambda: self.unmatched.add(db, values))

    def _command(self, ctx: Ctx) -> str | None:
        extra = ctx.turn.client_extra
        if extra.get("action") in ("cancel", "home"):
            return extra["action"]
        text = normalise(ctx.turn.utterance)
        if text in self.cancel_words:
            return "cancel"
        if text in self.home_words:
            return "home"
        return None

    # -- routing ------------------------------------------------------------
    def route(self, ctx: Ctx) -> dict:
        reply = self._route(ctx)
        # the misunderstanding streak (bot.handoff) ends when the bot understood typed text, a
        # dialog took the turn or a person was offered; a tap between two misses leaves it
        if ctx.outcome != "unmatched" and (ctx.intent not in (None, "none") or ctx.dialog.active
                                           or ctx.outcome == "handoff"):
            handoff.forget(ctx)
        return reply

    def _route(self, ctx: Ctx) -> dict:
        turn = ctx.turn
        lang = self.language_words.get(normalise(turn.utterance).lower()) if not turn.client_extra else None
        if lang is not None:
            return self._switch_language(ctx, lang)
        command = self._command(ctx)
        if command:
            return self._cancel_or_home(ctx, command)

        if contains_rrn(turn.utterance):
            return self._refuse_rrn(ctx)
        if not turn.client_extra and sent_media(turn):
            return self._media(ctx)

        paused = self._menu_mid_dialog(ctx)
        if paused is not None:
            return paused

        dialog = self._dialog_for(ctx)
        if dialog is not None:
            reply = dialog.handle(ctx)
            if reply is not None:
                return reply

        tapped = turn.client_extra.get("intent")
        if isinstance(tapped, str) and tapped in self.intents:
            return self.run_intent(ctx, tapped)

        if turn.skill != "fallback" and turn.skill in self.app.skills:
            return self.app.skills[turn.skill](ctx)

        return self.understand(ctx)

    def _menu_mid_dialog(self, ctx: Ctx) -> dict | None:
        """A menu label typed while a dialog waits ("포인트 조회" at the address step) is no
        answer to its question: the feature it names, the dialog kept where it was, as when
        the channel's menu button is tapped."""
        turn = ctx.turn
        if turn.client_extra or not ctx.dialog.active or turn.skill != "fallback":
            return None
        skill = self.menu_skills.get(normalise(turn.utterance))
        running = self.app.dialogs.get(ctx.dialog.name or "")
        # its own label is left to it ("가입하기" is also the signup's last answer)
        if skill is None or skill not in self.app.skills or running is None or skill == running.skill:
            return None
        return self._kept(self.app.skills[skill](ctx), running)

    def side_request(self, ctx: Ctx, text: str) -> dict | None:
        """A request for a feature that only shows something, typed at a step that could not
        take it as its answer ("내 포인트 얼마야" at the bank step): that feature, the dialog
        kept where it was, and no failed answer counted. None when not understood with
        confidence: showing a feature by mistake loses nothing, the dialog still waits."""
        running = self.app.dialogs.get(ctx.dialog.name or "")
        if running is None or not ctx.dialog.active:
            return None
        u = understanding.understand(text)
        if u.outcome != "confident" or u.intent not in SIDE_INTENTS or self.skill_of(u.intent) == running.skill:
            return None
        # Confident only because nothing else came close ('우리 집이요' at the address step) is
        # too weak here: the text is more likely a wrong answer to the step than a request.
        if u.result.top is None or u.result.top.score < understanding.thresholds().confident:
            return None
        ctx.intent = u.intent
        return self._kept(self.run_intent(ctx, u.intent), running)

    @staticmethod
    def _kept(reply: dict, running) -> dict:
        """`reply`, saying that the running dialog waits under its menu."""
        label = texts.raw("common", lang=texts.current())["menu"].get(running.skill)
        if not isinstance(label, str):
            return reply
        return ui.prepend_text(reply, texts.t("common.dialog_kept", label=label))

    def _dialog_for(self, ctx: Ctx):
        """The dialog this turn belongs to: a button that names it, or the active dialog
        when the turn is free text (fallback) or came from the dialog's own skill."""
        named = ctx.turn.client_extra.get("dialog")
        if isinstance(named, str) and named in self.app.dialogs:
            return self.app.dialogs[named]
        if ctx.dialog.active and ctx.dialog.name in self.app.dialogs:
            dialog = self.app.dialogs[ctx.dialog.name]
            if ctx.turn.skill in ("fallback", dialog.skill):
                return dialog
        return None

    def _switch_language(self, ctx: Ctx, lang: str) -> dict:
        """"English" / "한국어": answer in that language from now on; a running dialog asks
        its current question again in it."""
        ctx.dialog.set_lang(None if lang == texts.DEFAULT_LANGUAGE else lang)
        with texts.using(lang):
            notice = texts.t("common.language_set")
            dialog = self.app.dialogs.get(ctx.dialog.name or "")
            if dialog is not None:
                return ui.prepend_text(dialog.reprompt(ctx), notice)
            return ui.menu_reply(ctx, notice)

    def _cancel_or_home(self, ctx: Ctx, command: str) -> dict:
        name = ctx.dialog.name
        if name:
            dialog = self.app.dialogs.get(name)
            if dialog is not None:
                dialog.cancel(ctx)
            ctx.dialog.end()
            self.app.dialog_event(name, "cancelled")
            ctx.outcome = "cancelled"
            return ui.menu_reply(ctx, texts.t("common.cancelled"))
        if command == "cancel":
            return ui.menu_reply(ctx, texts.t("common.nothing_to_cancel"))
        return self.app.skills["welcome"](ctx)

    def _refuse_rrn(self, ctx: Ctx) -> dict:
        """Never store or log it: the dialog state is untouched, the utterance is not kept,
        and the pending question is asked again."""
        ctx.outcome = "refused"
        if ctx.dialog.active and ctx.dialog.name in self.app.dialogs:
            again = self.app.dialogs[ctx.dialog.name].reprompt(ctx)
            return ui.prepend_text(again, texts.t("common.rrn_refused"))
        return ui.menu_reply(ctx, texts.t("common.rrn_refused_no_dialog"))

    def _media(self, ctx: Ctx) -> dict:
        """A photo or file cannot be read: nothing of it is kept (not the link either: it may
        open a bill's photo), and the pending question is asked again."""
        ctx.outcome = "media"
        if ctx.dialog.active and ctx.dialog.name in self.app.dialogs:
            again = self.app.dialogs[ctx.dialog.name].reprompt(ctx)
            return ui.prepend_text(again, texts.t("common.media_not_read"))
        return ui.menu_reply(ctx, texts.t("common.media_not_read_no_dialog"))


def install(app: BotApp) -> Router:
    app.router = Router(app)
    understanding.warm_in_background()  # the model loads once per process, before the first citizen
    return app.router
