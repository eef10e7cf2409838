"""The operator dashboard in headless Chromium: login, then the figures the database holds."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.demo import load_demo
from tests.auxil.operators import PASSWORD, code_for, make_operator


@pytest.fixture(scope="module")
def demo_server(live_server):
    s = live_server.services
    load_demo(s.db, s.cipher, s.clock)
    return live_server


def sql(db, query: str, **params):
    with db.engine.connect() as conn:
        return conn.execute(text(query), params).all()


def number(page, testid: str) -> int:
    return int(page.get_by_test_id(testid).inner_text().replace(",", "").strip())


def test_dashboard_after_login_shows_what_the_database_holds(demo_server, page, artifacts):
    db = demo_server.db
    page.goto(demo_server.url + "/admin")
    assert "/admin/login" in page.url  # not logged in: the login form
    secret = make_operator(db, demo_server.services.cipher, demo_server.services.clock)
    page.fill("#name", "admin")
    page.fill("#password", "wrong-password-here")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().strip() == "이름, 비밀번호 또는 인증 코드가 맞지 않아요."
    page.fill("#name", "admin")
    page.fill("#password", PASSWORD)
    page.fill("#code", code_for(secret, demo_server.services.clock))
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=active-members]")

    # headline figures, each against its own query
    assert number(page, "active-members") == sql(db, "SELECT count(*) FROM members WHERE status = 'active'")[0][0]
    assert number(page, "readings") == sql(db, "SELECT count(*) FROM meter_readings")[0][0]
    assert number(page, "outbox-pending") == sql(db, "SELECT count(*) FROM notifications WHERE state = 'pending'")[0][0]
    assert page.get_by_test_id("latest-half").inner_text() == sql(
        db, "SELECT max(half) FROM settlement_runs WHERE status = 'completed'")[0][0]

    # members per 시군구 and type
    for code, member_type, count in sql(db, "SELECT local_government_code, member_type, count(*) FROM members "
                                            "WHERE status = 'active' GROUP BY 1, 2"):
        assert number(page, f"members-{code}-{member_type}") == count

    # points and won to pay per half and 시군구
    rows = sql(db, "SELECT half, local_government_code, sum(points), sum(won) FROM point_statements "
                   "WHERE status IN ('expected', 'held') GROUP BY 1, 2")
    assert rows
    for half, code, points, won in rows:
        assert number(page, f"points-{half}-{code}") == points
        assert number(page, f"won-{half}-{code}") == won

    # reduction rates of the settled half: evaluated lines
    evaluated = sql(db, "SELECT count(*) FROM statement_lines WHERE evaluated AND rate IS NOT NULL")[0][0]
    assert number(page, "rates-half-total") == evaluated
    at_least_15 = sql(db, "SELECT count(*) FROM statement_lines WHERE evaluated AND rate >= 15")[0][0]
    assert number(page, "rates-half-4") == at_least_15

    # pushes and campaign pledges
    for kind, count in sql(db, "SELECT kind, count(*) FROM notifications WHERE state = 'pending' AND attempts = 0 GROUP BY 1"):
        assert number(page, f"push-{kind}-pending") == count
    for campaign, count in sql(db, "SELECT campaign_id, count(*) FROM campaign_pledges GROUP BY 1"):
        assert number(page, f"pledges-{campaign}") == count
    for run_id, members in sql(db, "SELECT id, members FROM settlement_runs"):
        assert number(page, f"settlement-{run_id}-members") == members

    # the charts are drawn and loaded
    for name in ("members", "rates", "points"):
        img = page.get_by_test_id(f"chart-{name}")
        img.scroll_into_view_if_needed()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
        assert img.evaluate("el => el.naturalWidth") >= 700
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    # logout ends the session
    page.click(".logout button")
    page.goto(demo_server.url + "/admin")
    assert "/admin/login" in page.url
