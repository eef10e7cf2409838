"""GET /admin/api/statements: an operator's bearer token, the statement as JSON (over real HTTP too)."""
from __future__ import annotations

import pytest

from tests.auxil.engine import add_lg, add_member, cli, half_rows, write_usage_csv
from tests.auxil.operators import make_operator, token_for

E, W = "electricity", "water"


@pytest.fixture
def AUTH(db, cipher, clock):
    """A national admin's API token (per-operator tokens replaced the shared ADMIN_TOKEN)."""
    make_operator(db, cipher, clock)
    return {"Authorization": f"Bearer {token_for(db, clock, 'admin')}"}


def settled(app, db, cipher, tmp_path):
    with db.transaction() as s:
        add_lg(s)
        add_member(s, cipher, accounts=[(E, "7000000001"), (W, "70001")], bot_user_key="bk-admin-1")
    rows = half_rows(E, "7000000001", "2025H1", 2000, 1900) + half_rows(W, "70001", "2025H1", 90, 89)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    assert cli(app, "settle", "--half", "2025H1").exit_code == 0


def test_statement_json(app, client, db, cipher, tmp_path, AUTH):
    settled(app, db, cipher, tmp_path)
    resp = client.get("/admin/api/statements?bot_user_key=bk-admin-1&half=2025H1", headers=AUTH)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["half"], body["points"], body["won"], body["payout_month"], body["status"]) == (
        "2025H1", 5000, 10000, "2025-12", "expected")
    elec, water = body["resources"]
    assert (elec["resource"], elec["baseline"], elec["actual"], elec["rate"], elec["band"], elec["points"]) == (
        "electricity", "2000", "1900", "5.00", "5", 5000)
    assert (water["reason"], water["reason_params"], water["rate"]) == (
        "BELOW_THRESHOLD", {"rate": "1.11", "threshold": "5"}, "1.11")
    assert body["reasons"] == ["BELOW_THRESHOLD"]
    assert body["local_government"] == {"code": "41117", "name": "수원시 영통구", "figures_default": False}


def test_auth_and_errors(app, client, db, cipher, tmp_path, AUTH):
    assert client.get("/admin/api/statements?bot_user_key=x&half=2025H1").status_code == 401
    assert client.get("/admin/api/statements?bot_user_key=x&half=2025H1",
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/admin/api/statements?half=2025H1", headers=AUTH).status_code == 400
    assert client.get("/admin/api/statements?bot_user_key=x&half=2025H3", headers=AUTH).status_code == 400
    assert client.get("/admin/api/statements?bot_user_key=x&half=2025H1", headers=AUTH).status_code == 404
    settled(app, db, cipher, tmp_path)
    resp = client.get("/admin/api/statements?bot_user_key=bk-admin-1&half=2024H2", headers=AUTH)
    assert resp.status_code == 404 and "not settled" in resp.get_json()["message"]
    runs = client.get("/admin/api/import-runs", headers=AUTH).get_json()["import_runs"]
    assert runs[0]["kind"] == "usage" and runs[0]["rows_inserted"] == 36


def test_the_admin_token_is_not_an_api_token(client, AUTH):
    resp = client.get("/admin/api/statements?bot_user_key=x&half=2025H1",
                      headers={"Authorization": "Bearer test-admin-token"})
    assert resp.status_code == 401


def test_over_real_http(app, db, cipher, tmp_path, AUTH):
    """The same endpoint served by a real WSGI server on loopback."""
    import threading

    import requests
    from werkzeug.serving import make_server

    settled(app, db, cipher, tmp_path)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/admin/api/statements"
        resp = requests.get(url, params={"bot_user_key": "bk-admin-1", "half": "2025h1"},
                            headers=AUTH, timeout=10)
        assert resp.status_code == 200 and resp.json()["points"] == 5000
        assert requests.get(url, timeout=10).status_code == 401
    finally:
        server.shutdown()
