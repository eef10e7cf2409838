"""Monthly coaching lines (issue 17): the half so far, the next band at the member's rate, the
streak of a resource at maintenance, and similar homes. Read from the figures core prepared
(core.progress / core.points.projection): nothing here computes points."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bot import texts
from core.points.baseline import format_rate


def _t(key: str, **fmt) -> str:
    return texts.t(f"coach.{key}", **fmt)


def _int(value: Any) -> str:
    return f"{int(value):,}"


def _num(value: Any) -> str:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if d == d.to_integral_value() or abs(d) >= 100:  # 317.04 kWh reads better as 317
        return f"{int(d.quantize(Decimal(1))):,}"
    return f"{d.quantize(Decimal('0.1')):,}"


def _rate(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def resource_lines(item: dict) -> list[str]:
    """One resource's projection (Projection.as_dict()['resources'][i]) as short lines."""
    res = item.get("resource")
    if res not in ("electricity", "water", "gas"):
        return []
    rate = _rate(item.get("rate_to_date"))
    if rate is None:
        return []
    name, unit = _t(f"resource.{res}"), _t(f"units.{res}")
    # truncated like every rate the programme shows (the notice's own line says the same figure)
    shown = format_rate(rate)
    lines = [_t("so_far_same", resource=name) if shown in ("0.00", "-0.00")
             else _t("so_far", resource=name, rate=shown) if rate > 0
             else _t("so_far_up", resource=name, rate=format_rate(-rate))]
    if item.get("maintenance"):
        lines.append(_t("maintenance", streak=int(item.get("streak") or 0), points=_int(item.get("pace_points") or 0)))
    elif item.get("pace_band") is not None:
        lines.append(_t("pace_band", band=_num(item["pace_band"]), points=_int(item.get("pace_points") or 0)))
    else:
        lines.append(_t("pace_none"))
    if item.get("top_band"):
        lines.append(_t("top", band=_num(item.get("pace_band"))))
    elif item.get("next_band") is not None and item.get("less_per_month"):
        lines.append(_t("next", months=int(item.get("months_left") or 0), less=_int(item["less_per_month"]), unit=unit,
                        band=_num(item["next_band"]), points=_int(item.get("gain_points") or 0),
                        won=_int(item.get("gain_won") or 0)))
        if item.get("bill_won_per_month"):
            lines.append(_t("bill", bill=_int(item["bill_won_per_month"])))
        if not item.get("gain_won"):
            lines.append(_t("capped"))
    return lines


def comparison_lines(comparison: list | None) -> list[str]:
    items = [c for c in comparison or [] if isinstance(c, dict) and c.get("resource") in ("electricity", "water", "gas")]
    if not items:
        return []
    month = str(items[0].get("month") or "")
    out = [_t("compare_title", month=int(month[-2:]) if month[-2:].isdigit() else month)]
    for c in items:
        res = c["resource"]
        verdict = c.get("verdict") if c.get("verdict") in ("great", "good", "more") else "good"
        out.append(_t(f"compare_{verdict}", resource=_t(f"resource.{res}"), unit=_t(f"units.{res}"),
                      usage=_num(c.get("usage")), efficient=_num(c.get("efficient")), average=_num(c.get("average"))))
    return out


def coach_text(projection: dict | None, comparison: list | None) -> str | None:
    """The coaching paragraph, or None when there is nothing to say yet."""
    blocks = []
    for item in (projection or {}).get("resources") or []:
        if isinstance(item, dict) and (lines := resource_lines(item)):
            blocks.append("\n".join(lines))
    parts = []
    if blocks:
        parts.append(_t("title") + "\n" + "\n\n".join(blocks))
    if cmp := comparison_lines(comparison):
        parts.append("\n".join(cmp))
    return "\n\n".join(parts) or None
