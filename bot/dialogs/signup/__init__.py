"""Signup (skill `signup`): the dialog, and the step machinery and shared field steps that
my info reuses (bot.dialogs.signup.machine, bot.dialogs.signup.fields)."""
from __future__ import annotations

from bot.app import BotApp
from bot.dialogs.signup.dialog import SignupDialog, existing_reply, seoul_reply  # noqa: F401


def register(app: BotApp) -> None:
    dialog = SignupDialog(app)
    app.add_dialog(dialog)
    app.skill("signup")(dialog.skill_handler)
