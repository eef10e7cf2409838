"""Usage charts: data per spec §5, PNG drawn and cached, URLs that cannot be guessed and expire."""
from __future__ import annotations

import base64
import re
import struct
from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.charts import ChartLinks, ChartTokenError, UsageSeries, render_usage_png, usage_series
from core.clock import utcnow_naive
from core.models import Member, MeterReading, ResourceAccount
from core.points.periods import add_months
from core.usage_import import supply_key_hash
from tests.auxil.support import make_config

ELEC_NO = "0412345678"
WATER_NO = "W-778-1234"


@pytest.fixture
def config(tmp_path):
    return make_config(chart_cache_dir=str(tmp_path / "charts"))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def add_member(db, cipher, clock, key="u-chart-1", readings=True, status="active") -> int:
    now = utcnow_naive(clock)
    with db.transaction() as s:
        m = Member(member_type="household", bot_user_key=key, name="김민지", joined_at=now - timedelta(days=400),
                   consents={}, status=status)
        s.add(m)
        s.flush()
        for resource, number in (("electricity", ELEC_NO), ("water", WATER_NO)):
            s.add(ResourceAccount(member_id=m.id, resource=resource, billing_mode="separate",
                                  customer_number_enc=cipher.encrypt(number),
                                  supply_key_hash=supply_key_hash(cipher, resource, number),
                                  registered_on=date(2025, 1, 1)))
        if readings:
            for i in range(36):  # 2023-11 .. 2026-10: electricity 300 + i, water 10 + i % 3
                month = add_months(202311, i)
                s.add(MeterReading(resource="electricity", supply_key_hash=supply_key_hash(cipher, "electricity", ELEC_NO),
                                   month=month, amount=Decimal(300 + i), updated_at=now))
                s.add(MeterReading(resource="water", supply_key_hash=supply_key_hash(cipher, "water", WATER_NO),
                                   month=month, amount=Decimal(10 + i % 3), updated_at=now))
        # someone else's readings for the same months must not show
        for i in range(12):
            s.add(MeterReading(resource="electricity", supply_key_hash=supply_key_hash(cipher, "electricity", "0499999999"),
                               month=add_months(202511, i), amount=Decimal(9999), updated_at=now))
        return m.id


def test_series_are_the_last_12_months_against_the_spec_baseline(db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    with db.session() as s:
        series = usage_series(s, member_id, date(2026, 11, 22))
    assert [x.resource for x in series] == ["electricity", "water"]
    elec = series[0]
    assert elec.months == tuple(add_months(202511, i) for i in range(12))  # ends at last month (2026-10)
    # usage of 2025-11 is index 24 (300 + 24); baseline = mean of 2024-11 (312) and 2023-11 (300)
    assert elec.usage[0] == Decimal("324.000")
    assert elec.baseline[0] == Decimal("306")
    assert elec.usage[-1] == Decimal("335.000")
    assert elec.baseline[-1] == Decimal("317")  # (323 + 311) / 2


def test_months_end_at_the_latest_reading(db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    with db.session() as s:
        series = usage_series(s, member_id, date(2027, 3, 5))  # no readings after 2026-10
    assert series[0].months[-1] == 202610


def test_member_without_supply_points_has_no_series(db, cipher, clock):
    now = utcnow_naive(clock)
    with db.transaction() as s:
        m = Member(member_type="household", bot_user_key="u-chart-none", joined_at=now, consents={})
        s.add(m)
        s.flush()
        mid = m.id
    with db.session() as s:
        assert usage_series(s, mid, date(2026, 11, 22)) == []
    png = render_usage_png([])
    assert png_size(png) == (800, 400)


@pytest.mark.parametrize("font", [True, None])
def test_render_is_a_2_to_1_png_with_or_without_a_korean_font(font):
    months = tuple(add_months(202511, i) for i in range(12))
    s = UsageSeries("gas", months, tuple(Decimal(50 + i) for i in range(12)), (None,) * 6 + (Decimal(55),) * 6)
    assert png_size(render_usage_png([s], font=font)) == (800, 400)


def test_chart_url_cannot_be_guessed_and_hides_the_member(app, db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    services = app.extensions["cpoint"]
    a, b = services.chart_link(member_id), services.chart_link(member_id)
    assert a.startswith("http://localhost:5000/charts/") and a.endswith(".png")
    assert a == b  # handed out again for a while: the image URL stays the same between taps
    links = app.extensions["cpoint_chart_links"]
    clock.advance(seconds=links.reuse_seconds)
    c = services.chart_link(member_id)
    assert c != a and links.read(c.rsplit("/", 1)[1][:-4]) == member_id  # then fresh randomness
    assert links.token(member_id + 1) != links.token(member_id)  # another member: a token of its own
    token = a.rsplit("/", 1)[1][:-4]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b'"m"' not in raw and b"u-chart-1" not in raw and len(token) >= 80  # encrypted, not just signed
    # a key that does not know the server secret makes tokens the server refuses
    forged = ChartLinks("not-the-secret", 3600, clock).token(member_id)
    with pytest.raises(ChartTokenError):
        app.extensions["cpoint_chart_links"].read(forged)


def test_chart_is_served_cached_and_expires(app, client, db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    url = app.extensions["cpoint"].chart_link(member_id)
    path = url.replace("http://localhost:5000", "")
    resp = client.get(path)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert png_size(resp.data) == (800, 400)
    assert "private" in resp.headers["Cache-Control"]
    cache = app.extensions["cpoint_charts"]
    assert cache.renders == 1
    again = client.get(path)
    assert again.data == resp.data and cache.renders == 1  # served from the cache
    assert client.get(path, headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304

    # new data draws a new chart
    with db.transaction() as s:
        s.add(MeterReading(resource="water", supply_key_hash=supply_key_hash(cipher, "water", WATER_NO),
                           month=202611, amount=Decimal(1), updated_at=utcnow_naive(clock)))
    clock.advance(days=40)  # a month later the chart shows 2026-11 too...
    assert client.get(path).status_code == 410  # ...but a day-old link has expired
    fresh = app.extensions["cpoint"].chart_link(member_id).replace("http://localhost:5000", "")
    assert client.get(fresh).status_code == 200 and cache.renders == 2


def test_link_works_until_its_ttl_and_not_after(app, client, db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    path = app.extensions["cpoint"].chart_link(member_id).replace("http://localhost:5000", "")
    clock.advance(seconds=86400 - 5)
    assert client.get(path).status_code == 200
    clock.advance(seconds=10)
    assert client.get(path).status_code == 410


@pytest.mark.parametrize("token", ["x" * 100, "short", "gAAAAA" + "A" * 120, "../../etc/passwd"])
def test_garbage_tokens_are_not_found(client, token):
    assert client.get(f"/charts/{token}.png").status_code == 404


def test_tampered_token_is_refused(app, client, db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    path = app.extensions["cpoint"].chart_link(member_id).replace("http://localhost:5000", "")
    i = len("/charts/") + 30
    tampered = path[:i] + ("A" if path[i] != "A" else "B") + path[i + 1:]
    assert client.get(tampered).status_code == 404


def test_withdrawn_member_has_no_chart(app, client, db, cipher, clock):
    member_id = add_member(db, cipher, clock, status="withdrawn")
    path = app.extensions["cpoint"].chart_link(member_id).replace("http://localhost:5000", "")
    assert client.get(path).status_code == 404


def test_links_from_another_server_secret_are_refused(db, cipher, clock):
    from webhooks import create_app

    member_id = add_member(db, cipher, clock)
    one = create_app(make_config(database_url=db.url, chart_secret="secret-one"), clock=clock, db=db)
    two = create_app(make_config(database_url=db.url, chart_secret="secret-two"), clock=clock, db=db)
    path = one.extensions["cpoint"].chart_link(member_id).replace("http://localhost:5000", "")
    assert one.test_client().get(path).status_code == 200
    assert two.test_client().get(path).status_code == 404


def test_cache_directory_names_reveal_no_member(app, client, db, cipher, clock):
    member_id = add_member(db, cipher, clock)
    client.get(app.extensions["cpoint"].chart_link(member_id).replace("http://localhost:5000", ""))
    cache = app.extensions["cpoint_charts"]
    names = [p.name for p in cache.dir.glob("*.png")]
    assert names and all(re.fullmatch(r"[0-9a-f]{40}\.png", n) for n in names)  # keyed hashes only
