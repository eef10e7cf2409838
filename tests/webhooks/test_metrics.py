"""GET /metrics: Prometheus text that parses, counters that move, the outbox read from the DB."""
from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.clock import utcnow_naive
from core.models import Member, Notification
from tests.auxil.support import make_config, make_payload


def scrape(client, headers=None) -> dict[str, dict[tuple, float]]:
    resp = client.get("/metrics", headers=headers or {})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_skill_counters_and_latency_move_with_requests(client, kakao):
    before = scrape(client)
    assert value(before, "cpoint_skill_requests_total", skill="help", outcome="ok") == 0
    kakao.say("u-metrics-1", "", skill="help")
    kakao.say("u-metrics-1", "", skill="help")
    kakao.say("u-metrics-1", "아무 말이나 해 볼게요")  # fallback, unmatched
    after = scrape(client)
    assert value(after, "cpoint_skill_requests_total", skill="help", outcome="ok") == 2
    assert value(after, "cpoint_skill_requests_total", skill="fallback", outcome="unmatched") == 1
    assert value(after, "cpoint_skill_request_seconds_count", skill="help", outcome="ok") == 2
    assert value(after, "cpoint_skill_request_seconds_bucket", skill="help", outcome="ok", le="+Inf") == 2
    assert value(after, "cpoint_skill_request_seconds_sum", skill="help", outcome="ok") > 0


def test_rejected_requests_are_not_counted_as_turns(client, kakao):
    resp = kakao.post("help", make_payload("u-metrics-2", "", "help"), secret="wrong")
    assert resp.status_code == 401
    assert value(scrape(client), "cpoint_skill_requests_total", skill="help", outcome="ok") == 0


def test_dialog_events_split_into_completions_and_abandonments(app, client):
    bot = app.extensions["cpoint_bot"]
    bot.dialog_event("signup", "started")
    bot.dialog_event("signup", "completed")
    bot.dialog_event("signup", "cancelled")
    bot.dialog_event("signup", "expired")
    s = scrape(client)
    assert value(s, "cpoint_dialog_events_total", dialog="signup", event="started") == 1
    assert value(s, "cpoint_dialog_completions_total", dialog="signup") == 1
    assert value(s, "cpoint_dialog_abandonments_total", dialog="signup", reason="cancelled") == 1
    assert value(s, "cpoint_dialog_abandonments_total", dialog="signup", reason="expired") == 1


def test_cancel_word_in_an_active_dialog_counts_an_abandonment(app, client, kakao, db, clock):
    from core.models import DialogState

    with db.transaction() as s:
        s.add(DialogState(user_key="u-metrics-3", dialog="signup", step="consent", slots={},
                          failures=0, updated_at=utcnow_naive(clock),
                          expires_at=utcnow_naive(clock) + timedelta(hours=1), version=1))
    kakao.say("u-metrics-3", "취소")
    s = scrape(client)
    assert value(s, "cpoint_dialog_abandonments_total", dialog="signup", reason="cancelled") == 1
    assert value(s, "cpoint_skill_requests_total", skill="fallback", outcome="cancelled") == 1


def _member(s, clock, n: int) -> Member:
    m = Member(member_type="household", bot_user_key=f"u-metrics-m{n}", name="홍길동",
               joined_at=utcnow_naive(clock), consents={})
    s.add(m)
    s.flush()
    return m


def test_outbox_depth_and_pushes_are_read_from_the_database(client, db, clock):
    now = utcnow_naive(clock)
    with db.transaction() as s:
        m = _member(s, clock, 1)
        rows = [("pending", 0), ("pending", 1), ("sent", 1), ("sent", 2), ("sent", 1), ("dead", 5)]
        for i, (state, attempts) in enumerate(rows):
            s.add(Notification(member_id=m.id, kind="monthly_result", period="2026-10",
                               dedupe_key=f"k{i}", payload={}, state=state, attempts=attempts,
                               created_at=now - timedelta(minutes=10 * (i + 1))))
    s = scrape(client)
    assert value(s, "cpoint_outbox_notifications", state="pending", kind="monthly_result") == 2
    assert value(s, "cpoint_outbox_notifications", state="sent", kind="monthly_result") == 3
    assert value(s, "cpoint_outbox_notifications", state="in_flight", kind="") == 0
    assert value(s, "cpoint_pushes_sent_total", kind="monthly_result") == 3
    assert value(s, "cpoint_pushes_failed_total", kind="monthly_result", state="dead") == 1
    assert value(s, "cpoint_push_attempts_total", kind="monthly_result") == 10
    # the oldest pending row was created 20 minutes before the (fixed) clock
    assert value(s, "cpoint_outbox_oldest_pending_age_seconds") == pytest.approx(1200, abs=1)
    assert value(s, "cpoint_outbox_scrape_ok") == 1

    with db.transaction() as s2:
        s2.query(Notification).filter(Notification.state == "pending").update({"state": "sent"})
    s = scrape(client)
    assert value(s, "cpoint_pushes_sent_total", kind="monthly_result") == 5
    assert value(s, "cpoint_outbox_oldest_pending_age_seconds") == 0


def test_metrics_token_is_required_when_configured(db, clock):
    from webhooks import create_app

    app = create_app(make_config(database_url=db.url, metrics_token="scrape-me"), clock=clock, db=db)
    c = app.test_client()
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert "cpoint_skill_requests" in c.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).get_data(as_text=True)


def test_metrics_can_be_switched_off(db, clock):
    from webhooks import create_app

    app = create_app(make_config(database_url=db.url, metrics_enabled=False), clock=clock, db=db)
    assert app.test_client().get("/metrics").status_code == 404


def test_each_app_has_its_own_registry(db, clock, kakao, client):
    from webhooks import create_app

    kakao.say("u-metrics-4", "", skill="help")
    other = create_app(make_config(database_url=db.url), clock=clock, db=db)
    assert value(scrape(other.test_client()), "cpoint_skill_requests_total", skill="help", outcome="ok") == 0
    assert value(scrape(client), "cpoint_skill_requests_total", skill="help", outcome="ok") == 1


def test_a_broken_database_still_gives_a_scrape(tmp_path, clock):
    from core.db import Database
    from webhooks import create_app

    broken = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    app = create_app(make_config(database_url=broken.url), clock=clock, db=broken)
    s = scrape(app.test_client())
    assert value(s, "cpoint_outbox_scrape_ok") == 0
    assert "cpoint_outbox_notifications" not in s
