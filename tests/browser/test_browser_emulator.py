"""The chat emulator in headless Chromium: a full signup by tapping and typing, then the balance
card with its usage chart loaded from the server."""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from core.local_governments import seed_local_governments
from core.models import Member
from core.points.periods import add_months
from core.usage_import import import_usage
from tests.auxil.citizen import ANSWERS, next_action

USER = "demo-visitor"


@pytest.fixture(scope="module")
def server(live_server, tmp_path_factory):
    """Local governments, and two years of readings of the supply points the citizen will type
    (readings exist before anyone registers the number: baseline_history = supply_point)."""
    s = live_server.services
    with s.db.transaction() as session:
        seed_local_governments(session)
    numbers = {words[0]: answer for words, answer in ANSWERS if len(words) == 2 and words[1] == "고객번호"}
    path = tmp_path_factory.mktemp("usage") / "usage.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["resource", "customer_number", "month", "amount"])
        for resource, name, base in (("electricity", "전기", 320), ("water", "수도", 14), ("gas", "가스", 60)):
            for i in range(34):
                month = add_months(202401, i)
                w.writerow([resource, numbers[name], f"{month // 100}-{month % 100:02d}", base - i // 6 * (base // 40)])
    import_usage(s.db, s.cipher, s.clock, path)
    return live_server


def last_bot(page):
    return page.locator(".msg.bot").last


def wait_reply(page, count_before: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('.msg.bot').length > n", arg=count_before)
    page.wait_for_function("() => !document.getElementById('send').disabled")


def act(page, kind: str, value: str) -> None:
    before = page.locator(".msg.bot").count()
    if kind == "say":
        page.fill("#message", value)
        page.click("#send")
    else:
        target = page.locator("#quick-replies button", has_text=value)
        if target.count() == 0:  # a button on the card
            target = last_bot(page).locator(".buttons button", has_text=value)
        target.first.click()
    wait_reply(page, before)


def test_signup_by_tapping_and_typing_then_the_balance_card_with_its_chart(server, page, artifacts):
    db = server.db
    page.goto(server.url + "/emulator")
    page.click(f".emu-user[data-user={USER}]")
    page.wait_for_selector(".msg.bot")  # the welcome block answers when the chat opens
    act(page, "tap", "가입하기")

    tapped: dict[str, int] = {}
    for _ in range(40):
        with db.session() as s:
            if s.scalars(select(Member).where(Member.bot_user_key == USER, Member.status == "active")).first():
                break
        bubbles = last_bot(page).locator("[data-kind=simpleText]")
        prompt = "\n".join(bubbles.all_inner_texts())
        labels = page.locator("#quick-replies button").all_inner_texts()
        labels += last_bot(page).locator(".buttons button").all_inner_texts()
        kind, value = next_action(prompt, [label.strip() for label in labels], tapped)
        if kind == "tap":
            tapped[value] = tapped.get(value, 0) + 1
        act(page, kind, value)
    else:
        pytest.fail("signup did not finish in 40 turns")
    page.screenshot(path=str(artifacts / "emulator-signup.png"), full_page=False)

    with db.session() as s:
        member = s.scalars(select(Member).where(Member.bot_user_key == USER)).one()
        assert member.status == "active" and len(member.accounts) == 3
        assert all(a.customer_number_enc and not a.customer_number_enc.isdigit() for a in member.accounts)
    # what the person typed is on the screen; the bot's reply masks it
    assert page.locator(".msg.user", has_text="0412345678").count() == 1

    act(page, "tap", "포인트 조회")
    card = last_bot(page)
    card.locator("[data-kind=itemCard], [data-kind=basicCard]").first.wait_for()
    img = card.locator("img[src*='/charts/']").first
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("el => [el.naturalWidth, el.naturalHeight]") == [800, 400]
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "emulator-balance.png"), full_page=False)
