"""The monthly message and the balance card with next-band coaching and the comparison with
similar homes, in the chat emulator in headless Chromium; screenshots in test-artifacts/."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.models import Member, Notification
from core.monthly import monthly_results
from core.usage_import import import_usage
from tests.auxil.engine import add_lg, add_member, half_rows, write_usage_csv

USER = "demo-citizen-01"
PEERS = 24


@pytest.fixture(scope="module")
def server(live_server, tmp_path_factory):
    s = live_server.services
    rows = []
    with s.db.transaction() as session:
        add_lg(session)
        for i in range(PEERS + 1):
            number = f"60000{i:05d}"
            add_member(session, s.cipher, accounts=[("electricity", number)], bot_user_key=USER if i == 0 else None,
                       name="김민지", address=f"경기도 수원시 영통구 매탄로 {i + 1}")
            rows += half_rows("electricity", number, "2026H2", monthly_baseline=[320] * 6,
                              monthly_actual=[(304 if i == 0 else 280 + 3 * i)] * 4 + [None, None])
    import_usage(s.db, s.cipher, s.clock, write_usage_csv(tmp_path_factory.mktemp("u") / "u.csv", rows))
    monthly_results(s.db, "2026-10", s.clock)
    with s.db.transaction() as session:
        me = session.scalars(select(Member.id).where(Member.bot_user_key == USER)).one()
        session.execute(update(Notification).where(Notification.member_id == me).values(state="sent"))
    return live_server


def test_monthly_message_and_balance_card_coach_toward_the_next_band(server, page, artifacts):
    page.goto(server.url + "/emulator")
    page.click(f".emu-user[data-user={USER}]")
    page.wait_for_selector(".msg.bot >> text=남은 2개월 동안", timeout=20000)
    text = "\n".join(page.locator(".msg.bot").all_inner_texts())
    assert "10월 사용량 결과" in text and "10% 구간" in text and "비슷한 가구와 비교" in text
    page.locator(".msg.bot").last.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "emulator-monthly-coaching.png"), full_page=False)

    before = page.locator(".msg.bot").count()
    page.fill("#message", "포인트 조회")
    page.click("#send")
    page.wait_for_function("n => document.querySelectorAll('.msg.bot').length > n", arg=before)
    card = page.locator(".msg.bot").last
    card.locator("[data-kind=itemCard]").first.wait_for()
    text = card.inner_text()
    assert "이번 반기 목표" in text and "덜 쓰면" in text
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "emulator-balance-coaching.png"), full_page=False)
