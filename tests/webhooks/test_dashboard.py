"""The operator dashboard: operator login (name, password, TOTP), session cookie, CSRF, and aggregated figures."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from core import dashboard_queries as dq
from core.clock import utcnow_naive
from core.models import (
    LocalGovernment,
    Member,
    MeterReading,
    Notification,
    PointStatement,
    ResourceAccount,
    SettlementRun,
    StatementLine,
)
from tests.auxil.operators import PASSWORD, code_for, csrf, make_operator
from tests.auxil.operators import login as operator_login
from tests.auxil.support import ADMIN_TOKEN


@pytest.fixture
def totp(db, cipher, clock):
    return make_operator(db, cipher, clock)


def login(client, password=PASSWORD, *, code=None):
    app = client.application
    secret = app.config.get("TEST_TOTP")
    return operator_login(client, "admin", password, code if code is not None else
                          (code_for(secret, app.extensions["cpoint"].clock) if secret else ""))


@pytest.fixture
def admin(client, totp):
    client.application.config["TEST_TOTP"] = totp
    resp = login(client)
    assert resp.status_code == 302
    return client


def test_dashboard_needs_a_login(client):
    resp = client.get("/admin")
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]
    assert client.get("/admin/charts/members.png").status_code == 401


def test_wrong_password_and_missing_csrf_are_refused(client, totp):
    client.application.config["TEST_TOTP"] = totp
    assert login(client, "nope-nope-nope").status_code == 401
    assert client.post("/admin/login", data={"name": "admin", "password": PASSWORD}).status_code == 400
    assert client.get("/admin").status_code == 302


def test_login_sets_a_safe_cookie_and_logout_needs_csrf(client, totp):
    client.application.config["TEST_TOTP"] = totp
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and PASSWORD not in cookie
    page = client.get("/admin")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert client.post("/admin/logout", data={}).status_code == 400  # a cross-site form cannot log you out
    assert client.get("/admin").status_code == 200
    assert client.post("/admin/logout", data={"csrf_token": csrf(page.get_data(as_text=True))}).status_code == 302
    assert client.get("/admin").status_code == 302


def test_session_expires(admin, clock):
    assert admin.get("/admin").status_code == 200
    clock.advance(hours=8, seconds=1)
    assert admin.get("/admin").status_code == 302


def test_the_admin_token_no_longer_logs_in(client):
    page = client.get("/admin/login")
    resp = client.post("/admin/login", data={"name": "admin", "password": ADMIN_TOKEN,
                                             "csrf_token": csrf(page.get_data(as_text=True))})
    assert resp.status_code == 401 and client.get("/admin").status_code == 302


def test_open_redirects_are_not_followed(client, totp):
    client.application.config["TEST_TOTP"] = totp
    page = client.get("/admin/login")
    resp = client.post("/admin/login?next=//evil.example/x", data={
        "name": "admin", "password": PASSWORD, "code": code_for(totp, client.application.extensions["cpoint"].clock),
        "csrf_token": csrf(page.get_data(as_text=True))})
    assert resp.headers["Location"].endswith("/admin/")


def _seed(db, clock):
    now = utcnow_naive(clock)
    with db.transaction() as s:
        s.add_all([LocalGovernment(code="41117", sido="경기도", name="수원시 영통구", address_prefixes=[], incentive_types=["cash"]),
                   LocalGovernment(code="36110", sido="세종특별자치시", name="세종특별자치시", address_prefixes=[], incentive_types=["cash"])])
        s.flush()
        members = []
        for i, (code, mtype, joined_days, status) in enumerate([
            ("41117", "individual", 400, "active"), ("41117", "individual", 40, "active"), ("41117", "commercial", 100, "active"),
            ("36110", "school", 300, "active"), ("36110", "individual", 500, "withdrawn"),
        ]):
            m = Member(member_type=mtype, bot_user_key=f"u-dash-{i}", local_government_code=code, status=status,
                       joined_at=now - timedelta(days=joined_days), consents={},
                       withdrawn_at=now - timedelta(days=10) if status == "withdrawn" else None)
            s.add(m)
            members.append(m)
        s.flush()
        run = SettlementRun(half="2026H1", status="completed", started_at=now, heartbeat_at=now, finished_at=now,
                            members=3, created=3)
        s.add(run)
        s.flush()
        for m, points, status, hold, rate in [(members[0], 5000, "expected", None, Decimal("12.5")),
                                              (members[2], 12000, "held", "HOLD_NO_ACCOUNT", Decimal("7.1")),
                                              (members[3], 0, "expected", None, Decimal("-3.2"))]:
            st = PointStatement(member_id=m.id, half="2026H1", member_type=m.member_type, points_table="household",
                                schedule="x", local_government_code=m.local_government_code, rate=Decimal("2"),
                                points_before_cap=points, points=points, won_before_cap=points * 2, won=points * 2,
                                cap_points_per_half=0, cap_won_per_year=0, payout_month=202612, status=status,
                                hold_reason=hold, result_hash="h", settlement_run_id=run.id, created_at=now, updated_at=now)
            s.add(st)
            s.flush()
            s.add(StatementLine(statement_id=st.id, member_id=m.id, half="2026H1", resource="electricity", evaluated=True,
                                rate=rate, reduction_points=points, maintenance_points=0, standard_points=0, points=points,
                                standard_usage_qualified=False, earned_reduction=points > 0, streak_before=0, streak_after=0))
        # last month readings vs the two years before, for one supply point: 90 vs (100 + 100) / 2 = 10 %
        s.add(ResourceAccount(member_id=members[0].id, resource="electricity", billing_mode="separate",
                              supply_key_hash="h1", registered_on=date(2024, 1, 1)))
        for month, amount in ((202610, 90), (202510, 100), (202410, 100)):
            s.add(MeterReading(resource="electricity", supply_key_hash="h1", month=month, amount=Decimal(amount), updated_at=now))
        for i, (state, attempts) in enumerate([("sent", 1), ("sent", 1), ("pending", 0), ("pending", 2), ("dead", 5)]):
            s.add(Notification(member_id=members[0].id, kind="monthly_result", period=f"p{i}", dedupe_key=f"d{i}",
                               payload={}, state=state, attempts=attempts, created_at=now))
    return members


def test_queries_aggregate_what_the_tables_hold(db, clock):
    _seed(db, clock)
    with db.session() as s:
        d = dq.dashboard(s, date(2026, 11, 22), utcnow_naive(clock))
    assert d.headline.active_members == 4 and d.headline.withdrawn_members == 1
    assert d.headline.latest_settled_half == "2026H1"
    by_lg = {r.code: r.by_type for r in d.members_by_lg}
    assert by_lg == {"41117": {"individual": 2, "commercial": 1}, "36110": {"school": 1}}
    # over time: 5 joined across the window; the withdrawn one left 10 days ago
    total = d.members_over_time.total()
    assert total[-1] == 4 and max(total) == 5
    assert d.members_over_time.by_type["individual"][-1] == 2
    assert d.half_rates.buckets == [("증가", 1), ("0~5%", 0), ("5~10%", 1), ("10~15%", 1), ("15% 이상", 0)]
    assert d.month_rates.label == "2026-10" and dict(d.month_rates.buckets)["10~15%"] == 1
    rows = {(r.half, r.code): r for r in d.points}
    assert rows[("2026H1", "41117")].points == 17000 and rows[("2026H1", "41117")].won == 34000
    assert rows[("2026H1", "41117")].won_held == 24000
    assert d.holds == [("2026H1", "HOLD_NO_ACCOUNT", 1, 24000)]
    push = {r.kind: r.counts for r in d.pushes}["monthly_result"]
    assert (push["sent"], push["pending"], push["failed"], push["dead"]) == (2, 1, 1, 1)
    assert [r.half for r in d.settlements] == ["2026H1"]


def test_page_shows_the_figures_and_the_charts_draw(admin, db, clock):
    _seed(db, clock)
    html = admin.get("/admin").get_data(as_text=True)
    assert 'data-testid="active-members">4<' in html
    assert 'data-testid="points-2026H1-41117">17,000<' in html
    assert 'data-testid="push-monthly_result-failed">1<' in html
    assert "계좌 없음" in html  # hold reason in words
    assert "u-dash-" not in html  # no personal data, not even keys
    for name in ("members", "rates", "points"):
        resp = admin.get(f"/admin/charts/{name}.png")
        assert resp.status_code == 200 and resp.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert admin.get("/admin/charts/other.png").status_code == 404


def test_empty_database_still_renders(admin):
    html = admin.get("/admin").get_data(as_text=True)
    assert "회원이 아직 없어요" in html and "정산한 반기가 아직 없어요" in html
    assert admin.get("/admin/charts/points.png").status_code == 200


def test_members_over_time_counts_months_in_korea(db):
    """A member imported as joined on 1 November joined at midnight in Korea, stored as
    31 October 15:00 UTC: the series counts them from November, on both databases."""
    with db.transaction() as s:
        s.add(Member(member_type="individual", bot_user_key="u-dash-kst", consents={},
                     joined_at=datetime(2026, 10, 31, 15, 0), withdrawn_at=datetime(2026, 11, 30, 15, 0),
                     status="withdrawn"))
    with db.session() as s:
        series = dq.members_over_time(s, date(2026, 12, 5), months=3)
    assert series.months == [202610, 202611, 202612]
    assert series.total() == [0, 1, 0]  # in November; withdrawn on 1 December in Korea
