"""Issue 18: named operators, scope everywhere, revocable sessions, throttles in the database,
the audit trail, campaign management and the purge of withdrawn members."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, text, update

from core import audit
from core.clock import utcnow_naive
from core.models import (
    AuditEntry,
    Campaign,
    CampaignPledge,
    Member,
    Notification,
    Operator,
)
from tests.auxil.engine import add_lg, add_member, cli, half_rows, write_usage_csv
from tests.auxil.operators import (
    PASSWORD,
    code_for,
    csrf,
    login,
    make_operator,
    token_for,
)
from tests.auxil.support import ADMIN_TOKEN

SUWON, SEONGNAM = "41117", "41135"


@pytest.fixture
def two_lgs(app, db, cipher, tmp_path):
    """One member in each of two 시군구, each with a settled statement of 2025H1."""
    with db.transaction() as s:
        add_lg(s, SUWON)
        add_lg(s, SEONGNAM, name="성남시 분당구")
        a = add_member(s, cipher, lg=SUWON, bot_user_key="bk-suwon", accounts=[("electricity", "7000000001")])
        b = add_member(s, cipher, lg=SEONGNAM, bot_user_key="bk-seongnam", address="경기도 성남시 분당구 1",
                       accounts=[("electricity", "7000000002")])
        ids = a.id, b.id
    rows = (half_rows("electricity", "7000000001", "2025H1", 2000, 1900)
            + half_rows("electricity", "7000000002", "2025H1", 2000, 1800))
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    assert cli(app, "settle", "--half", "2025H1").exit_code == 0
    return ids


def _entries(db, action=None):
    with db.session() as s:
        return [(e.operator, e.action, e.subject, e.scope) for e in audit.entries(s, action=action)]


# --- accounts and the CLI --------------------------------------------------------------------

def test_cli_adds_lists_disables_and_issues(app, db):
    with db.transaction() as s:
        add_lg(s, SUWON)
    r = cli(app, "operator", "add", "kim", "--role", "lg_operator", "--lg", SUWON, "--password", PASSWORD)
    assert r.exit_code == 0, r.output
    r = cli(app, "operator", "add", "root", "--role", "admin", "--password", PASSWORD)
    assert r.exit_code == 0 and "otpauth://totp/" in r.output  # admins are enrolled at once
    assert cli(app, "operator", "add", "x", "--role", "lg_operator", "--lg", "99999", "--password", PASSWORD).exit_code == 2
    assert cli(app, "operator", "add", "y", "--role", "readonly", "--password", "short").exit_code == 2
    listed = json.loads(cli(app, "operator", "list", "--json").output)
    assert [(o["name"], o["role"], o["local_government_codes"], o["totp"]) for o in listed] == [
        ("kim", "lg_operator", [SUWON], False), ("root", "admin", [], True)]
    token = cli(app, "operator", "token", "kim").output.strip()
    assert token.startswith("cpo_")
    with db.session() as s:
        stored = s.scalar(text("SELECT token_hash FROM operator_tokens"))
        assert token not in stored and "$scrypt" not in (s.scalar(select(Operator.password_hash).where(Operator.name == "kim")) or "")
    assert cli(app, "operator", "disable", "kim").exit_code == 0
    assert cli(app, "operator", "token", "kim").exit_code == 2
    actions = [a for _, a, _, _ in _entries(db)]
    assert actions == ["operator.add", "operator.add", "operator.token", "operator.disable"]
    assert all(op.startswith("cli") for op, *_ in _entries(db))


def test_cli_takes_the_scope_by_name_and_refuses_an_ambiguous_one(app, db):
    with db.transaction() as s:
        add_lg(s, SUWON)
        add_lg(s, "26110", sido="부산광역시", name="중구")
        add_lg(s, "11140", sido="서울특별시", name="중구")
    r = cli(app, "operator", "add", "kim", "--role", "lg_operator", "--lg", "경기 수원시 영통구", "--password", PASSWORD)
    assert r.exit_code == 0 and SUWON in r.output, r.output
    r = cli(app, "operator", "add", "lee", "--role", "lg_operator", "--lg", "중구", "--password", PASSWORD)
    assert r.exit_code == 2 and "give the code: 11140" in r.output and "26110" in r.output, r.output
    r = cli(app, "operator", "add", "park", "--role", "lg_operator", "--lg", "경기도", "--password", PASSWORD)
    assert r.exit_code == 2 and "is a province" in r.output
    listed = json.loads(cli(app, "operator", "list", "--json").output)
    assert [(o["name"], o["local_government_codes"]) for o in listed] == [("kim", [SUWON])]


def test_bootstrap_creates_the_first_admin_only(client, db, clock):
    body = {"name": "first", "password": PASSWORD}
    assert client.post("/admin/api/bootstrap", json=body).status_code == 401
    resp = client.post("/admin/api/bootstrap", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert resp.status_code == 201 and resp.get_json()["totp_uri"].startswith("otpauth://")
    again = client.post("/admin/api/bootstrap", json={"name": "second", "password": PASSWORD},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert again.status_code == 409
    # ADMIN_TOKEN is not an API token
    assert client.get("/admin/api/import-runs", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 401
    secret = resp.get_json()["totp_secret"]
    assert login(client, "first", code=code_for(secret, clock)).status_code == 302


# --- login, TOTP, sessions ---------------------------------------------------------------------

def test_admins_need_a_totp_code_once(client, db, cipher, clock):
    secret = make_operator(db, cipher, clock)
    assert login(client, "admin").status_code == 401  # no code
    assert login(client, "admin", code="000000" if code_for(secret, clock) != "000000" else "111111").status_code == 401
    code = code_for(secret, clock)
    assert login(client, "admin", code=code).status_code == 302
    client.post("/admin/logout", data={"csrf_token": csrf(client.get("/admin").get_data(as_text=True))})
    assert login(client, "admin", code=code).status_code == 401  # a code works once
    clock.advance(seconds=30)
    assert login(client, "admin", code=code_for(secret, clock)).status_code == 302


def test_logout_revokes_the_server_session(client, db, cipher, clock):
    with db.transaction() as s:
        add_lg(s, SUWON)
    make_operator(db, cipher, clock, "kim", "lg_operator", [SUWON])
    assert login(client, "kim").status_code == 302
    cookie = client.get_cookie("session").value
    page = client.get("/admin")
    assert page.status_code == 200
    client.post("/admin/logout", data={"csrf_token": csrf(page.get_data(as_text=True))})
    client.set_cookie("session", cookie)  # the old cookie, replayed
    assert client.get("/admin").status_code == 302


def test_a_disabled_operators_session_stops_on_the_next_request(app, client, db, cipher, clock):
    with db.transaction() as s:
        add_lg(s, SUWON)
    make_operator(db, cipher, clock, "kim", "lg_operator", [SUWON])
    assert login(client, "kim").status_code == 302
    token = token_for(db, clock, "kim")
    assert client.get("/admin").status_code == 200
    assert client.get("/admin/api/exports/statements?half=2025H1", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert cli(app, "operator", "disable", "kim").exit_code == 0
    assert client.get("/admin").status_code == 302
    assert client.get("/admin/api/exports/statements?half=2025H1", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_failures_lock_the_account_for_a_while_then_the_right_login_works(client, db, cipher, clock):
    with db.transaction() as s:
        add_lg(s, SUWON)
    make_operator(db, cipher, clock, "kim", "lg_operator", [SUWON])
    for _ in range(5):
        assert login(client, "kim", "wrong-password!").status_code == 401
    assert login(client, "kim").status_code == 429  # locked: counted in the database, any address
    elsewhere = client.application.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(elsewhere, "kim").status_code == 429  # per account, not per address
    clock.advance(seconds=31)
    assert login(client, "kim").status_code == 302  # after the backoff the right password works
    with db.session() as s:
        assert s.scalar(select(Operator.failed_logins).where(Operator.name == "kim")) == 0


def test_one_address_is_blocked_without_locking_the_account(app, db, cipher, clock):
    from core import operators as ops

    with db.transaction() as s:
        add_lg(s, SUWON)
    make_operator(db, cipher, clock, "kim", "lg_operator", [SUWON])
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for i in range(ops.IP_FAILURES):
        assert login(attacker, f"nobody-{i}", "guess-guess-guess").status_code == 401
    assert login(attacker, "kim").status_code == 429
    rightful = app.test_client()
    rightful.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(rightful, "kim").status_code == 302


# --- scope everywhere ----------------------------------------------------------------------------

@pytest.fixture
def suwon_operator(db, cipher, clock, two_lgs):
    make_operator(db, cipher, clock, "kim", "lg_operator", [SUWON])
    return two_lgs


def test_dashboard_member_lookup_is_scoped_and_audited(client, db, suwon_operator):
    mine, theirs = suwon_operator
    assert login(client, "kim").status_code == 302
    ok = client.get(f"/admin/members?id={mine}")
    assert ok.status_code == 200 and "홍*동" in ok.get_data(as_text=True) and "01012345678" not in ok.get_data(as_text=True)
    refused = client.get(f"/admin/members?id={theirs}")
    assert refused.status_code == 404 and "홍*동" not in refused.get_data(as_text=True)
    assert client.get("/admin/members?key=bk-seongnam").status_code == 404
    assert client.get("/admin/members?id=999999").status_code == 404  # same answer as out of scope
    views = _entries(db, "member.view")
    assert views == [("kim", "member.view", f"member:{mine}", SUWON)]
    assert len(_entries(db, "member.view_refused")) == 3


def test_dashboard_member_lookup_by_the_registry_number_as_typed(client, db, suwon_operator):
    from core.models import Member

    mine, theirs = suwon_operator
    with db.transaction() as s:
        s.get(Member, mine).member_no = "GG-2019-000123"
        s.get(Member, theirs).member_no = "SN-2020-000777"
    assert login(client, "kim").status_code == 302
    for typed in ("GG-2019-000123", "gg2019000123", "GG 2019 000123"):
        page = client.get("/admin/members", query_string={"no": typed})
        assert page.status_code == 200 and "홍*동" in page.get_data(as_text=True), typed
    assert client.get("/admin/members?no=SN2020000777").status_code == 404  # another 시군구's
    assert len(_entries(db, "member.view")) == 3 and len(_entries(db, "member.view_refused")) == 1


def test_dashboard_figures_are_those_of_the_scope(client, db, suwon_operator):
    assert login(client, "kim").status_code == 302
    html = client.get("/admin").get_data(as_text=True)
    assert "수원시 영통구" in html and "성남시 분당구" not in html


def test_api_statement_is_scoped_and_audited(client, db, clock, suwon_operator):
    token = token_for(db, clock, "kim")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/admin/api/statements?bot_user_key=bk-suwon&half=2025H1", headers=auth).status_code == 200
    resp = client.get("/admin/api/statements?bot_user_key=bk-seongnam&half=2025H1", headers=auth)
    assert resp.status_code == 404
    assert client.get("/admin/api/import-runs", headers=auth).status_code == 403  # national work
    assert [a for _, a, _, _ in _entries(db) if a.startswith("statement")] == ["statement.view", "statement.view_refused"]


def test_exports_hold_only_the_scope(client, db, clock, suwon_operator):
    mine, theirs = suwon_operator
    token = token_for(db, clock, "kim")
    api = client.get("/admin/api/exports/statements?half=2025H1", headers={"Authorization": f"Bearer {token}"})
    assert login(client, "kim").status_code == 302
    page = client.get("/admin/exports/statements.csv?half=2025H1")
    for resp in (api, page):
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        rows = resp.get_data(as_text=True).strip().splitlines()
        assert rows[0].startswith("member_id,half,local_government_code")
        assert [r.split(",")[0] for r in rows[1:]] == [str(mine)]
        assert SEONGNAM not in resp.get_data(as_text=True)
    exports = _entries(db, "export.statements")
    assert [(o, sub, sc) for o, _, sub, sc in exports] == [("kim", "half:2025H1", SUWON)] * 2


def test_readonly_sees_aggregates_but_no_personal_data(client, db, cipher, clock, two_lgs):
    mine, _ = two_lgs
    make_operator(db, cipher, clock, "viewer", "readonly", [SUWON])
    assert login(client, "viewer").status_code == 302
    assert client.get("/admin").status_code == 200
    assert client.get(f"/admin/members?id={mine}").status_code == 403
    assert client.get("/admin/exports/statements.csv?half=2025H1").status_code == 403
    assert client.get("/admin/campaigns/new").status_code == 403


def test_api_is_throttled_per_token_and_bad_tokens_per_address(app, client, db, clock, suwon_operator):
    app.config["CPOINT"].operators.api_rate_limit = "3/m"
    auth = {"Authorization": f"Bearer {token_for(db, clock, 'kim')}"}
    url = "/admin/api/statements?bot_user_key=bk-suwon&half=2025H1"
    assert [client.get(url, headers=auth).status_code for _ in range(4)] == [200, 200, 200, 429]
    clock.advance(seconds=61)
    assert client.get(url, headers=auth).status_code == 200
    bad = {"Authorization": "Bearer cpo_guess"}
    codes = [client.get(url, headers=bad).status_code for _ in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429


# --- audit trail ---------------------------------------------------------------------------

def _some_entries(app, db):
    with db.transaction() as s:
        add_lg(s, SUWON)
    for name in ("a1", "a2", "a3"):
        assert cli(app, "operator", "add", name, "--role", "lg_operator", "--lg", SUWON, "--password", PASSWORD).exit_code == 0


def test_audit_prints_json_and_verifies(app, db):
    _some_entries(app, db)
    out = cli(app, "audit", "--json")
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [(r["seq"], r["action"], r["subject"]) for r in rows] == [
        (1, "operator.add", "a1"), (2, "operator.add", "a2"), (3, "operator.add", "a3")]
    assert cli(app, "audit", "--operator", "nobody", "--json").output == ""
    assert cli(app, "audit", "--since", "2999-01-01").output == ""
    r = cli(app, "audit", "verify")
    assert r.exit_code == 0 and "3 entries" in r.output


def test_an_edited_entry_is_detected(app, db):
    _some_entries(app, db)
    with db.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(subject="someone-else"))
    r = cli(app, "audit", "verify")
    assert r.exit_code == 1 and "#2: content changed" in r.stderr


def test_a_deleted_entry_is_detected(app, db):
    _some_entries(app, db)
    with db.transaction() as s:
        s.execute(AuditEntry.__table__.delete().where(AuditEntry.seq == 2))
    r = cli(app, "audit", "verify")
    assert r.exit_code == 1 and "#2..#2: missing" in r.stderr


def test_purge_past_retention_keeps_the_chain_verifiable(app, db, clock):
    _some_entries(app, db)
    clock.advance(days=731)
    assert cli(app, "operator", "disable", "a1").exit_code == 0
    r = cli(app, "audit", "purge")
    assert r.exit_code == 0 and "purged: 3" in r.output
    with db.session() as s:
        assert [e.action for e in audit.entries(s)] == ["operator.disable", "audit.purge"]
    assert cli(app, "audit", "verify").exit_code == 0
    with db.transaction() as s:  # deleting the anchor is caught
        s.execute(AuditEntry.__table__.delete().where(AuditEntry.action == "operator.disable"))
    assert cli(app, "audit", "verify").exit_code == 1


# --- campaigns -------------------------------------------------------------------------------

def _campaign_form(client, **over):
    page = client.get("/admin/campaigns/new")
    data = {"title": "여름철 에어컨 26도", "summary": "적정 온도를 지켜요", "starts_on": "2026-12-01",
            "ends_on": "2026-12-31", "image_url": "", "detail_url": "https://example.go.kr/c",
            "local_government_code": SUWON, "segment": "region", "segment_value": "", "action": "save",
            "csrf_token": csrf(page.get_data(as_text=True))}
    data.update(over)
    return client.post("/admin/campaigns/new", data=data)


def test_operator_creates_previews_edits_and_closes_a_campaign_in_scope(client, db, clock, suwon_operator):
    assert login(client, "kim").status_code == 302
    preview = _campaign_form(client, action="preview")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="kakao-preview"' in html and "emulator.js" in html
    data = json.loads(html.split('id="kakao-preview">')[1].split("</script>")[0])
    card = data["template"]["outputs"][1]["carousel"]["items"][0]
    assert card["title"] == "여름철 에어컨 26도" and "2026-12-01 ~ 2026-12-31" in card["description"]
    assert "script-src 'self'" in preview.headers["Content-Security-Policy"]
    with db.session() as s:
        assert s.scalar(select(Campaign.id)) is None  # a preview saves nothing
    assert _campaign_form(client, local_government_code=SEONGNAM).status_code == 400
    assert _campaign_form(client, title="").status_code == 400
    ended = _campaign_form(client, starts_on="2025-07-01", ends_on="2025-08-31")  # copied from last summer
    assert ended.status_code == 400 and "종료일이 이미 지났어요" in ended.get_data(as_text=True)
    assert _campaign_form(client).status_code == 302
    with db.session() as s:
        c = s.scalars(select(Campaign)).one()
        assert (c.local_government_code, c.segment, c.segment_value, c.updated_by) == (SUWON, "region", SUWON, "kim")
        cid = c.id
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert "여름철 에어컨 26도" in listing and "예약됨" in listing  # starts later: scheduled
    page = client.get(f"/admin/campaigns/{cid}/edit")
    form = {"title": "겨울철 난방 20도", "summary": "적정 온도", "starts_on": "2026-11-01", "ends_on": "2026-12-31",
            "image_url": "", "detail_url": "", "local_government_code": SUWON, "segment": "all",
            "segment_value": "", "action": "save", "csrf_token": csrf(page.get_data(as_text=True))}
    assert client.post(f"/admin/campaigns/{cid}/edit", data=form).status_code == 302
    assert client.get(f"/admin/campaigns/{cid}/preview").status_code == 200
    token = csrf(client.get("/admin/campaigns").get_data(as_text=True))
    assert client.post(f"/admin/campaigns/{cid}/close", data={"csrf_token": token}).status_code == 302
    with db.session() as s:
        c = s.get(Campaign, cid)
        assert (c.title, c.active, c.closed_at is not None) == ("겨울철 난방 20도", False, True)
    actions = [(a, sub) for _, a, sub, _ in _entries(db) if a.startswith("campaign")]
    assert actions == [("campaign.create", f"campaign:{cid}"), ("campaign.update", f"campaign:{cid}"),
                       ("campaign.close", f"campaign:{cid}")]


def test_another_lgs_campaign_cannot_be_changed(client, db, clock, suwon_operator):
    now = utcnow_naive(clock)
    with db.transaction() as s:
        s.add(Campaign(id="cmp-seongnam", title="성남", summary="s", starts_on=date(2026, 11, 1),
                       ends_on=date(2026, 12, 31), active=True, created_at=now, local_government_code=SEONGNAM))
        s.add(Campaign(id="cmp-national", title="전국", summary="s", starts_on=date(2026, 11, 1),
                       ends_on=date(2026, 12, 31), active=True, created_at=now))
    assert login(client, "kim").status_code == 302
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert "cmp-national" in listing and "cmp-seongnam" not in listing
    assert client.get("/admin/campaigns/cmp-seongnam/edit").status_code == 404
    assert client.get("/admin/campaigns/cmp-national/edit").status_code == 404  # national: admins only
    token = csrf(client.get("/admin").get_data(as_text=True))
    assert client.post("/admin/campaigns/cmp-seongnam/close", data={"csrf_token": token}).status_code == 404
    with db.session() as s:
        assert s.get(Campaign, "cmp-seongnam").active


# --- purge of withdrawn members ---------------------------------------------------------------

def test_withdrawn_members_are_purged_after_the_setting_and_the_ledger_stays(app, db, cipher, clock):
    from core.members import withdraw

    now = utcnow_naive(clock)
    with db.transaction() as s:
        add_lg(s, SUWON)
        m = add_member(s, cipher, bot_user_key="bk-leaving")
        s.add(Campaign(id="cmp-1", title="t", summary="s", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                       active=True, created_at=now))
        s.flush()
        s.add(CampaignPledge(campaign_id="cmp-1", member_id=m.id, pledged_at=now))
        s.add(Notification(member_id=m.id, kind="monthly_result", period="2026-10", dedupe_key="d1",
                           payload={"name": "홍길동", "won": 100}, state="sent", attempts=1, created_at=now,
                           recipient_type="bot_user_key", recipient_id="bk-leaving"))
        s.flush()
        withdraw(s, clock, m)
        mid = m.id
    assert "purged: 0" in cli(app, "purge-withdrawn").output  # not yet: WITHDRAWN_PURGE_DAYS
    clock.advance(days=31)
    r = cli(app, "purge-withdrawn")
    assert r.exit_code == 0 and "purged: 1" in r.output
    with db.session() as s:
        m = s.get(Member, mid)
        assert m.purged_at is not None and m.status == "withdrawn" and m.consents == {}
        n = s.scalars(select(Notification).where(Notification.member_id == mid)).one()
        assert n.payload == {} and n.recipient_id is None
        assert s.scalar(select(CampaignPledge.id)) is None
    assert "purged: 0" in cli(app, "purge-withdrawn").output
    assert [a for _, a, _, _ in _entries(db)] == ["member.purge"]


def test_the_schedulers_retention_purges_members_and_old_audit_entries(app, db, cipher, clock):
    from core.members import withdraw
    from webhooks.commands.operators import retention_for

    _some_entries(app, db)  # three audit entries, now
    with db.transaction() as s:
        m = add_member(s, cipher, bot_user_key="bk-gone")
        s.flush()
        withdraw(s, clock, m)
    with app.app_context():
        work = retention_for(app.extensions["cpoint"])
    assert work() == {"withdrawn_purged": 0, "audit_purged": 0, "unmatched_purged": 0, "streaks_purged": 0}
    clock.advance(days=731)
    assert work() == {"withdrawn_purged": 1, "audit_purged": 3, "unmatched_purged": 0, "streaks_purged": 0}
    assert work() == {"withdrawn_purged": 0, "audit_purged": 0, "unmatched_purged": 0, "streaks_purged": 0}
    with db.session() as s:
        assert [e.action for e in audit.entries(s)] == ["member.purge", "audit.purge"]
    assert cli(app, "audit", "verify").exit_code == 0


def test_a_member_is_offered_the_campaigns_meant_for_them(db, cipher, clock):
    from core.campaigns import active_campaigns

    now = utcnow_naive(clock)
    with db.transaction() as s:
        add_lg(s, SUWON)
        add_lg(s, SEONGNAM, name="성남시 분당구")
        m = add_member(s, cipher, lg=SUWON)
        period = dict(starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31), active=True, created_at=now)
        s.add_all([Campaign(id="national", title="n", summary="s", **period),
                   Campaign(id="suwon", title="s", summary="s", local_government_code=SUWON, segment="region",
                            segment_value=SUWON, **period),
                   Campaign(id="seongnam", title="g", summary="s", local_government_code=SEONGNAM, **period),
                   Campaign(id="schools", title="c", summary="s", segment="member_type", segment_value="school", **period)])
        s.flush()
        today = date(2026, 11, 22)
        assert sorted(c.id for c in active_campaigns(s, today, member=m)) == ["national", "suwon"]
        assert len(active_campaigns(s, today)) == 4  # without a member: all (as before)


def test_the_payout_file_export_is_audited(app, db, two_lgs, tmp_path):
    out = tmp_path / "payouts.csv"
    assert cli(app, "payouts", "--half", "2025H1", "--out", out, "--local-government", SUWON).exit_code == 0
    (who, action, subject, scope), = _entries(db, "export.payouts")
    assert who.startswith("cli") and (action, subject, scope) == ("export.payouts", "half:2025H1", SUWON)


# --- the unmatched questions queue (issue 14) ------------------------------------------------

def _queue(db, clock, *rows):
    from core import unmatched

    with db.transaction() as s:
        for text_, lg in rows:
            unmatched.record(s, utcnow_naive(clock), text_, "none", [("contact", 0.2)], lg)


def test_unmatched_page_groups_counts_and_is_scoped(client, db, clock, suwon_operator):
    _queue(db, clock, ("미세먼지 어때요?", SUWON), ("미세먼지 어때요", SUWON), ("주차 되나요", SEONGNAM),
           ("날씨 알려줘", None))
    assert login(client, "kim").status_code == 302
    page = client.get("/admin/unmatched")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-group="미세먼지 어때요"' in body
    assert '<td class="num">2</td>' in body and "주차" not in body and "날씨" not in body
    csv_ = client.get("/admin/unmatched.csv")
    assert csv_.status_code == 200 and csv_.mimetype == "text/csv"
    rows = csv_.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert rows[0] == "normalised,count,close_calls,first_seen,last_seen,example,guesses"
    assert len(rows) == 2 and rows[1].startswith("미세먼지 어때요,2,0,")
    assert [(o, a) for o, a, _, _ in _entries(db, "export.unmatched")] == [("kim", "export.unmatched")]


def test_readonly_sees_the_unmatched_page_but_cannot_export(client, db, cipher, clock, two_lgs):
    _queue(db, clock, ("주차 되나요", SEONGNAM), ("날씨 알려줘", None))
    make_operator(db, cipher, clock, "viewer", "readonly", [SUWON])
    assert login(client, "viewer").status_code == 302
    assert client.get("/admin/unmatched").status_code == 200
    assert client.get("/admin/unmatched.csv").status_code == 403


def test_the_schedulers_retention_purges_old_unmatched_questions(app, db, clock):
    from core.models import UnmatchedQuestion
    from webhooks.commands.operators import retention_for

    app.config["CPOINT"].operators.unmatched_retention_days = 30
    _queue(db, clock, ("오래된 질문", None))
    clock.advance(days=20)
    _queue(db, clock, ("최근 질문", None))
    with app.app_context():
        work = retention_for(app.extensions["cpoint"])
    assert work()["unmatched_purged"] == 0
    clock.advance(days=11)
    assert work()["unmatched_purged"] == 1
    with db.session() as s:
        assert [q.text for q in s.scalars(select(UnmatchedQuestion))] == ["최근 질문"]


def test_the_schedulers_retention_purges_misunderstanding_streaks_a_day_old(app, db, clock):
    from core.clock import utcnow_naive
    from core.models import MissStreak
    from webhooks.commands.operators import retention_for

    with db.transaction() as s:
        s.add(MissStreak(user_key="u-old", turns=1, asked="zxqv ****", at=utcnow_naive(clock)))
    clock.advance(hours=20)
    with db.transaction() as s:
        s.add(MissStreak(user_key="u-new", turns=1, asked="qwer", at=utcnow_naive(clock)))
    with app.app_context():
        work = retention_for(app.extensions["cpoint"])
    assert work()["streaks_purged"] == 0
    clock.advance(hours=5)
    assert work()["streaks_purged"] == 1
    with db.session() as s:
        assert [m.user_key for m in s.scalars(select(MissStreak))] == ["u-new"]


def test_dashboard_member_lookup_by_mobile_or_customer_number_as_given(client, db, cipher, suwon_operator):
    """A citizen calls: the operator finds them by the mobile they give or the customer number on
    their bill, within the scope only, audited by what was searched on (never the value)."""
    from core.models import Member

    mine, theirs = suwon_operator
    with db.transaction() as s:
        s.get(Member, mine).mobile = "010-5555-1234"
        s.get(Member, theirs).mobile = "010-5555-1234"  # the same number in another 시군구
    assert login(client, "kim").status_code == 302
    for query in ({"mobile": "010 5555 1234"}, {"mobile": "01055551234"}, {"customer": "70-0000-0001"},
                  {"customer": "7000000001"}):
        page = client.get("/admin/members", query_string=query)
        assert page.status_code == 200 and 'id="member-record"' in page.get_data(as_text=True), query
    assert client.get("/admin/members", query_string={"customer": "7000000002"}).status_code == 404
    assert client.get("/admin/members", query_string={"mobile": "02-123-4567"}).status_code == 404
    with db.transaction() as s:  # a family sharing a mobile: the operator chooses
        other = add_member(s, cipher, lg=SUWON, bot_user_key="bk-suwon-2", name="홍길순",
                           address="경기도 수원시 영통구 매탄로 2", accounts=[("electricity", "7000000003")])
        other.mobile = "010-5555-1234"
    page = client.get("/admin/members", query_string={"mobile": "010-5555-1234"}).get_data(as_text=True)
    assert 'id="member-matches"' in page and f"?id={mine}" in page and f"?id={theirs}" not in page
    entries = [e for e in _entries(db) if e[1].startswith("member.")]
    assert all("5555" not in (e[2] or "") and "7000000" not in (e[2] or "") for e in entries)
    assert ("kim", "member.search", "mobile", SUWON) in entries


def test_audit_since_a_time_with_its_offset_is_that_moment(app, db):
    """'--since 2026-11-22T10:01+09:00' is 01:01 UTC: the offset was dropped, a 9-hour shift."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    _some_entries(app, db)
    first = json.loads(cli(app, "audit", "--json").output.splitlines()[0])
    at = datetime.fromisoformat(first["at"].removesuffix("Z")).replace(tzinfo=ZoneInfo("UTC"))
    kst = ZoneInfo("Asia/Seoul")
    after = (at + timedelta(minutes=1)).astimezone(kst).isoformat()
    before = (at - timedelta(minutes=1)).astimezone(kst).isoformat()
    assert cli(app, "audit", "--since", after).output == ""
    assert len(cli(app, "audit", "--since", before).output.splitlines()) == 3
