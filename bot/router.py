"""The dispatcher: every turn of every skill URL goes through `Router.route`.

Order: words that always work (취소, 처음으로), refusal of resident registration numbers,
the dialog a tapped button belongs to, the user's active dialog, the skill of the URL,
keywords in the utterance, and finally the fallback answer."""
from __future__ import annotations

import re

from core.pii import contains_rrn

from bot import texts, ui
from bot.app import BotApp
from bot.context import Ctx

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACE.sub(" ", (text or "").strip()).rstrip(".!?~ ")


class Router:
    def __init__(self, app: BotApp) -> None:
        self.app = app
        kw = texts.raw("keywords")
        self.cancel_words = set(kw["cancel"])
        self.home_words = set(kw["home"])
        self.keywords: list[tuple[str, str]] = [
            (word, skill) for skill, words in kw["skills"].items() for word in words
        ]

    # -- helpers ------------------------------------------------------------
    def keyword_skill(self, utterance: str) -> str | None:
        text = normalise(utterance)
        if not text:
            return None
        for word, skill in self.keywords:
            if word in text and skill in self.app.skills:
                return skill
        return None

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
        turn = ctx.turn
        command = self._command(ctx)
        if command:
            return self._cancel_or_home(ctx, command)

        if contains_rrn(turn.utterance):
            return self._refuse_rrn(ctx)

        dialog = self._dialog_for(ctx)
        if dialog is not None:
            reply = dialog.handle(ctx)
            if reply is not None:
                return reply

        if turn.skill != "fallback" and turn.skill in self.app.skills:
            return self.app.skills[turn.skill](ctx)

        skill = self.keyword_skill(turn.utterance)
        if skill and skill != "fallback":
            return self.app.skills[skill](ctx)

        ctx.outcome = "unmatched"
        return self.app.skills["fallback"](ctx)

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


def install(app: BotApp) -> Router:
    app.router = Router(app)
    return app.router
