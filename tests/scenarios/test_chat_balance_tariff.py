"""Balance shows spec E5's reason when the import says a month was billed under an excluded
electricity tariff (issue 16): provisional card and settled half alike."""
from __future__ import annotations

import csv

import pytest

from core.settlement import settle_half
from core.usage_import import import_usage
from tests.scenarios.test_chat_balance import ELEC, U2, WATER, history, joined_long_ago

pytestmark = pytest.mark.usefixtures("lgs")


def import_with_tariff(db, cipher, clock, path, rows, tariff_months):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["resource", "customer_number", "month", "amount", "tariff"])
        for resource, number, month, amount in rows:
            w.writerow([resource, number, month, amount,
                        "agricultural" if resource == "electricity" and month in tariff_months else ""])
    import_usage(db, cipher, clock, path)


def test_an_agricultural_month_excludes_electricity_on_the_balance(chat, db, cipher, clock, tmp_path):
    joined_long_ago(db, cipher, U2)
    rows = history("electricity", ELEC, 202601, 300, 270) + history("electricity", ELEC, 202607, 300, 285, 4)
    rows += history("water", WATER, 202601, 100, 95) + history("water", WATER, 202607, 100, 100, 3)
    import_with_tariff(db, cipher, clock, tmp_path / "t.csv", rows, {"2026-02", "2026-08"})
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    card = c.last["template"]["outputs"][0]["itemCard"]
    current = {i["title"]: i["description"] for i in card["itemList"]}
    assert current["전기"] == "참여 대상 아님" and current["수도"].startswith("감축 0.00%")
    settle_half(db, "2026H1", clock)
    c.post_fixture("balance_lookup.json")
    settled = {i["title"]: i["description"] for i in c.last["template"]["outputs"][1]["itemCard"]["itemList"]}
    assert settled["전기"] == "참여 대상 아님" and settled["수도"] == "감축 5.00% · 750P"
    assert "전기: 농사용·심야 전기는 참여 대상이 아니에요." in c.text
