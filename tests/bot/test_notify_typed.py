"""bot/dialogs/notify.py typed_change: the topics a typed message turns off or on."""
from __future__ import annotations

import pytest

from bot.dialogs.notify import typed_change


@pytest.mark.parametrize("typed,topics", [
    ("월별 결과 꺼줘", {"monthly": False}),
    ("월별 결과 알림 안 받을래요", {"monthly": False}),  # its 받을래 is no on word
    ("월별 결과 끄고 캠페인도 꺼줘", {"monthly": False, "campaign": False}),
    ("알림 전부 꺼 주세요", {"monthly": False, "campaign": False, "reminders": False}),
    ("리마인더 다시 받을래요", {"reminders": True}),
    ("리마인더 끄지 마세요", {"reminders": True}),  # its 끄 is no off word
    ("turn off monthly results", {"monthly": False}),
    ("월별 결과 끄고 리마인더는 켜줘", {}),  # both ways: the screen
    ("알림 끄고 싶어", {}),  # no topic: the screen
    ("월별 결과 끄면 포인트 못 받아요?", {}),  # a question
])
def test_the_topics_a_message_changes(typed, topics):
    assert typed_change(typed).topics == topics


def test_the_digest_and_the_critical_notices():
    assert typed_change("적립 알림 모아서 받을래요").digest is True
    assert typed_change("적립 알림 하나씩 받을래요").digest is False
    assert typed_change("지급 안내 알림 꺼줘").critical and not typed_change("지급 안내 알림 꺼줘").topics
    assert not typed_change("지급 안내 알림 언제 와요?")
