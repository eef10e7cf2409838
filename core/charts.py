"""A member's usage chart: the last 12 months against the baseline, per resource, as a PNG.

- `usage_series(session, member_id, today, rules)` reads the member's readings (through the
  keyed hash of each registered supply point) and the monthly baseline of spec §5 (the same
  month one and two years before, core.points.baseline.monthly_baseline).
- `render_usage_png(series)` draws it with matplotlib's Agg backend (no display, no pyplot
  state), with Korean labels when a Korean font is installed (Debian `fonts-nanum`) and plain
  English labels otherwise, so a missing font never shows as empty boxes.
- `ChartLinks` makes the token of a chart URL (the edge owns the route and the host and gives
  the bot a link maker, Services.chart_link): a Fernet token
  (authenticated encryption with a timestamp) of the member id under a key derived from
  CHART_SECRET or FIELD_HASH_KEY. It cannot be guessed or forged from a member's identity, it
  does not reveal the member id, and it stops working after CHART_URL_TTL_SECONDS.
- `ChartCache` keeps rendered PNGs in memory (LRU) and on disk, keyed by a keyed hash of the
  member and a fingerprint of the data, so a changed reading draws a new chart at once and an
  unchanged one is served without drawing.
"""
from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import io
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import texts
from core.clock import Clock, SystemClock, kst_date, today_kst
from core.models.members import Member, ResourceAccount
from core.models.usage import MeterReading
from core.points.baseline import monthly_baseline
from core.points.periods import add_months, month_of

log = logging.getLogger("cpoint.charts")

MONTHS = 12
RESOURCES = ("electricity", "water", "gas")
# Labels, units and titles drawn into the charts: core/texts/<lang>/charts.toml (Korean with a
# Korean font, English without one).
KOREAN_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum", "Malgun Gothic")
SIZE_PX = (800, 400)  # 2:1, the ratio of a basicCard / itemCard thumbnail
RENDER_VERSION = "2"
UNDER, OVER, BASE = "#3f9b5e", "#e08a3c", "#2b5d9b"  # bump when the drawing changes so cached PNGs are redrawn


# --- data ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class UsageSeries:
    resource: str
    months: tuple[int, ...]                 # yyyymm, oldest first
    usage: tuple[Decimal | None, ...]        # None: no reading
    baseline: tuple[Decimal | None, ...]     # B(m) per spec §5; None: no history

    @property
    def has_data(self) -> bool:
        return any(v is not None for v in self.usage) or any(v is not None for v in self.baseline)


def chart_months(today: date, latest: int | None, count: int = MONTHS) -> tuple[int, ...]:
    """The `count` months shown: ending at the latest reading, never after last month."""
    end = add_months(month_of(today), -1)
    if latest is not None and latest < end:
        end = latest
    return tuple(add_months(end, i - count + 1) for i in range(count))


def usage_series(session: Session, member_id: int, today: date, rules=None) -> list[UsageSeries]:
    """One series per resource the member registered with a supply point (readings of the
    supply point, spec §5 `baseline_history = supply_point`)."""
    if rules is None:
        from core.rules import default_rules

        rules = default_rules()
    member = session.get(Member, member_id)
    if member is None:
        return []
    accounts = session.scalars(
        select(ResourceAccount).where(
            ResourceAccount.member_id == member_id, ResourceAccount.ended_on.is_(None),
            ResourceAccount.supply_key_hash.is_not(None))
        .order_by(ResourceAccount.id)
    ).all()
    by_resource: dict[str, ResourceAccount] = {}
    for acc in accounts:
        by_resource.setdefault(acc.resource, acc)
    if not by_resource:
        return []
    first = add_months(month_of(today), -(MONTHS + 24 + 1))
    hashes = {r: (a.company, a.supply_key_hash) for r, a in by_resource.items()}
    latest = None
    # only rows of the member's own supply point of that resource
    rows_by = session.execute(
        select(MeterReading.resource, MeterReading.company, MeterReading.supply_key_hash, MeterReading.month,
               MeterReading.amount)
        .where(MeterReading.month >= first, MeterReading.resource.in_(list(by_resource)),
               MeterReading.supply_key_hash.in_([key for _, key in hashes.values()]))
    ).all()
    readings: dict[str, dict[int, Decimal]] = {r: {} for r in by_resource}
    for resource, company, key, month, amount in rows_by:
        if hashes.get(resource) == (company, key):
            readings[resource][month] = Decimal(str(amount)).quantize(Decimal("0.001"))
            if month <= add_months(month_of(today), -1):
                latest = month if latest is None else max(latest, month)
    months = chart_months(today, latest)
    join_month = month_of(kst_date(member.joined_at)) if member.joined_at else None
    out = []
    for resource in [r for r in RESOURCES if r in by_resource] + sorted(set(by_resource) - set(RESOURCES)):
        values = readings[resource]
        baseline = []
        for m in months:
            try:
                b, _source = monthly_baseline(values, m, rules, join_month)
            except ValueError:
                b = None
            baseline.append(b)
        out.append(UsageSeries(resource, months, tuple(values.get(m) for m in months), tuple(baseline)))
    return out


def fingerprint(series: Sequence[UsageSeries]) -> str:
    """A digest of everything the chart shows: same data, same picture."""
    doc = [[s.resource, list(s.months), [None if v is None else str(v) for v in s.usage],
            [None if v is None else str(v) for v in s.baseline]] for s in series]
    raw = json.dumps([RENDER_VERSION, doc], separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()


# --- drawing -------------------------------------------------------------------------------

_font_lock = threading.Lock()
_korean_font: list[str | None] = []  # cached lookup: [name] or [None]
_render_lock = threading.Lock()


def korean_font() -> str | None:
    """The family name of an installed Korean font, or None."""
    with _font_lock:
        if not _korean_font:
            from matplotlib import font_manager

            installed = {f.name for f in font_manager.fontManager.ttflist}
            found = next((name for name in KOREAN_FONTS if name in installed), None)
            if found is None:  # installed after matplotlib cached its font list: add the files
                import glob

                for path in sorted(glob.glob("/usr/share/fonts/**/Nanum*.ttf", recursive=True)
                                   + glob.glob("/usr/share/fonts/**/NotoSansCJK*.tt[fc]", recursive=True)):
                    try:
                        font_manager.fontManager.addfont(path)
                    except (OSError, RuntimeError, ValueError):
                        continue
                installed = {f.name for f in font_manager.fontManager.ttflist}
                found = next((name for name in KOREAN_FONTS if name in installed), None)
            _korean_font.append(found)
        return _korean_font[0]


def _labels(korean: bool) -> dict[str, Any]:
    lang = "ko" if korean else "en"
    words = {key: texts.t(f"charts.{key}", lang=lang)
             for key in ("under", "over", "usage", "baseline", "title", "empty")}
    return {"names": texts.raw("charts.resources", lang=lang), "units": texts.raw("charts.units", lang=lang),
            **words,
            "month": lambda m: texts.t("charts.month", lang=lang, month=m % 100, abbr=calendar.month_abbr[m % 100])}


def render_usage_png(series: Sequence[UsageSeries], *, font: str | None | bool = True) -> bytes:
    """Draw the chart. `font=True` picks an installed Korean font (English labels if none);
    `font=None`/`False` forces English labels; a family name forces that font."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = korean_font() if font is True else (font or None)
    labels = _labels(family is not None)
    shown = [s for s in series if s.has_data]
    with _render_lock:  # matplotlib's font and text caches are not made for concurrent use
        rc = {"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
              "axes.unicode_minus": False, "font.size": 9}
        with matplotlib.rc_context(rc):  # type: ignore[arg-type]  # stubs want literal rc keys
            dpi = 100
            fig = Figure(figsize=(SIZE_PX[0] / dpi, SIZE_PX[1] / dpi), dpi=dpi, facecolor="white")
            FigureCanvasAgg(fig)
            if not shown:
                ax = fig.add_subplot(1, 1, 1)
                ax.axis("off")
                ax.text(0.5, 0.5, labels["empty"], ha="center", va="center", fontsize=24, color="#555")
            else:
                axes = fig.subplots(1, len(shown), squeeze=False)[0]
                for ax, s in zip(axes, shown):
                    _panel(ax, s, labels)
                from matplotlib.lines import Line2D
                from matplotlib.patches import Patch

                handles = [Patch(color=UNDER, label=labels["under"]), Patch(color=OVER, label=labels["over"]),
                           Line2D([], [], color=BASE, marker="o", markersize=5, linewidth=2.6, label=labels["baseline"])]
                fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=15)
            fig.suptitle(labels["title"], fontsize=21, y=0.975)
            # large type: the chart is mostly seen shrunk to a card thumbnail in KakaoTalk
            fig.subplots_adjust(left=0.075, right=0.985, top=0.78, bottom=0.2, wspace=0.42)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _max_ticks(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=n, integer=True)


def _panel(ax, s: UsageSeries, labels: dict[str, Any]) -> None:
    x = list(range(len(s.months)))
    usage = [float(v) if v is not None else 0.0 for v in s.usage]
    colors = []
    for u, b in zip(s.usage, s.baseline):
        if u is None:
            colors.append("#dddddd")
        elif b is not None and u <= b:
            colors.append(UNDER)  # at or under the baseline: saving
        else:
            colors.append(OVER)
    ax.bar(x, usage, color=colors, width=0.7, label=labels["usage"], zorder=2)
    bx = [i for i, b in zip(x, s.baseline) if b is not None]
    by = [float(b) for b in s.baseline if b is not None]
    if bx:
        ax.plot(bx, by, color=BASE, marker="o", markersize=5, linewidth=2.6,
                label=labels["baseline"], zorder=3)
    ax.set_title(f"{labels['names'].get(s.resource, s.resource)} ({labels['units'].get(s.resource, '')})", fontsize=17)
    ticks = [i for i in x if (len(x) - 1 - i) % 4 == 0]
    ax.set_xticks(ticks)
    ax.set_xticklabels([labels["month"](s.months[i]) for i in ticks], fontsize=13)
    ax.tick_params(axis="y", labelsize=12)
    ax.yaxis.set_major_locator(_max_ticks(4))
    ax.grid(axis="y", color="#eeeeee", zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_ylim(bottom=0)


# --- links ---------------------------------------------------------------------------------

class ChartTokenError(ValueError):
    def __init__(self, reason: str) -> None:  # "invalid" | "expired"
        super().__init__(reason)
        self.reason = reason


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for `purpose` from a server secret (HMAC-SHA256)."""
    return hmac.new(secret.encode(), f"cpoint:{purpose}".encode(), hashlib.sha256).digest()


RECENT_TOKENS_MAX = 100_000  # members whose last token is kept for reuse (about 20 MB at most)


class ChartLinks:
    """Opaque, authenticated, expiring chart tokens."""

    def __init__(self, secret: str, ttl_seconds: int, clock: Clock | None = None) -> None:
        if not secret:
            raise ValueError("chart secret is empty")
        if ttl_seconds <= 0:
            raise ValueError("CHART_URL_TTL_SECONDS must be positive")
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret, "chart-token")))
        self.ttl = int(ttl_seconds)
        self.clock = clock or SystemClock()
        # A member's token is handed out again for a while (a tenth of its life, at most ten
        # minutes): the card's image URL stays the same between taps, so Kakao's image cache
        # serves the chart again instead of fetching it, and a repeated tap pays no encryption.
        self.reuse_seconds = min(self.ttl // 10, 600)
        self._recent: dict[int, tuple[int, str]] = {}

    def token(self, member_id: int) -> str:
        now = int(self.clock.now().timestamp())
        recent = self._recent.get(member_id)
        if recent is not None and 0 <= now - recent[0] < self.reuse_seconds:
            return recent[1]
        raw = json.dumps({"m": int(member_id)}, separators=(",", ":")).encode()
        token = self._fernet.encrypt_at_time(raw, now).decode().rstrip("=")
        if len(self._recent) >= RECENT_TOKENS_MAX:
            self._recent.clear()  # a burst of distinct members: start again rather than keep an LRU
        self._recent[int(member_id)] = (now, token)
        return token

    def read(self, token: str) -> int:
        """The member id of a token; ChartTokenError("expired" | "invalid") otherwise."""
        if not isinstance(token, str) or not (40 <= len(token) <= 400):
            raise ChartTokenError("invalid")
        padded = token + "=" * (-len(token) % 4)
        now = int(self.clock.now().timestamp())
        try:
            raw = self._fernet.decrypt_at_time(padded.encode(), self.ttl, now)
        except InvalidToken:
            try:  # authentic but too old (or from the future): say so
                self._fernet.decrypt_at_time(padded.encode(), 10 ** 10, now)
            except InvalidToken:
                raise ChartTokenError("invalid") from None
            raise ChartTokenError("expired") from None
        try:
            member_id = json.loads(raw)["m"]
        except (ValueError, KeyError, TypeError):
            raise ChartTokenError("invalid") from None
        if not isinstance(member_id, int):
            raise ChartTokenError("invalid")
        return member_id


# --- cache ---------------------------------------------------------------------------------

class ChartCache:
    """Rendered PNGs by (member, data fingerprint): an in-memory LRU in front of a directory.

    Entries live `ttl_seconds`; file names are keyed hashes, so the directory reveals no
    member. Several processes may share the directory (writes are atomic renames)."""

    def __init__(self, directory: str | Path | None, key: bytes, ttl_seconds: int = 3600,
                 max_items: int = 256, now: Callable[[], float] = time.time) -> None:
        self.dir = Path(directory) if directory else None
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)
        self._key = key
        self.ttl = ttl_seconds
        self.max_items = max_items
        self._now = now
        self._mem: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0
        self.hits = 0

    def _name(self, member_id: int, digest: str) -> str:
        return hmac.new(self._key, f"{member_id}:{digest}".encode(), hashlib.sha256).hexdigest()[:40]

    def get_or_render(self, member_id: int, series: Sequence[UsageSeries],
                      render: Callable[[Sequence[UsageSeries]], bytes] = render_usage_png) -> tuple[bytes, str]:
        """(png, etag)."""
        digest = fingerprint(series)
        name = self._name(member_id, digest)
        now = self._now()
        with self._lock:
            hit = self._mem.get(name)
            if hit and now - hit[0] < self.ttl:
                self._mem.move_to_end(name)
                self.hits += 1
                return hit[1], name
        png = self._read_file(name, now)
        if png is None:
            png = render(series)
            self.renders += 1
            self._write_file(name, png)
        else:
            self.hits += 1
        with self._lock:
            self._mem[name] = (now, png)
            self._mem.move_to_end(name)
            while len(self._mem) > self.max_items:
                self._mem.popitem(last=False)
        return png, name

    def _read_file(self, name: str, now: float) -> bytes | None:
        if not self.dir:
            return None
        path = self.dir / f"{name}.png"
        try:
            if now - path.stat().st_mtime >= self.ttl:
                return None
            return path.read_bytes()
        except OSError:
            return None

    def _write_file(self, name: str, png: bytes) -> None:
        if not self.dir:
            return
        tmp = self.dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            tmp.write_bytes(png)
            os.replace(tmp, self.dir / f"{name}.png")
            self._prune()
        except OSError as exc:  # a full or read-only disk costs a redraw, not an error
            log.warning("chart cache write failed: %s", type(exc).__name__)
            tmp.unlink(missing_ok=True)

    def _prune(self) -> None:
        """Drop files past their life (cheap: at most once a minute per process)."""
        now = self._now()
        if now - getattr(self, "_pruned", 0) < 60:
            return
        self._pruned = now
        if self.dir is None:
            return
        for path in self.dir.glob("*.png"):
            try:
                if now - path.stat().st_mtime >= self.ttl:
                    path.unlink()
            except OSError:
                pass


def member_chart_png(session: Session, member_id: int, clock: Clock, cache: ChartCache, rules=None) -> tuple[bytes, str] | None:
    """The PNG of an active member's chart (cached), or None for no such member."""
    member = session.get(Member, member_id)
    if member is None or member.status != "active":
        return None
    series = usage_series(session, member_id, today_kst(clock), rules)
    return cache.get_or_render(member_id, series)


# --- operator dashboard charts ---------------------------------------------------------------

TYPE_NAMES_KO = texts.raw("dashboard.member_types")
PALETTE = ("#3f9b5e", "#2b5d9b", "#e08a3c", "#8e5ea2", "#c9473d", "#7f8c8d", "#d4ac0d")


def _figure(size=(8, 3.2)):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _png(draw: Callable[[Any, bool], None], size=(8, 3.2)) -> bytes:
    import matplotlib

    family = korean_font()
    with _render_lock:
        rc = {"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
              "axes.unicode_minus": False, "font.size": 9}
        with matplotlib.rc_context(rc):  # type: ignore[arg-type]  # stubs want literal rc keys
            fig = _figure(size)
            draw(fig, family is not None)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _style(ax) -> None:
    ax.grid(axis="y", color="#eeeeee", zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def render_members_png(months: Sequence[int], by_type: dict[str, Sequence[int]]) -> bytes:
    """Stacked area: members at each month's end, per member type."""
    def draw(fig, korean):
        ax = fig.add_subplot(1, 1, 1)
        keys = [k for k in TYPE_NAMES_KO if k in by_type] + sorted(set(by_type) - set(TYPE_NAMES_KO))
        x = list(range(len(months)))
        if keys:
            ax.stackplot(x, [list(by_type[k]) for k in keys], colors=PALETTE[:len(keys)], alpha=0.85,
                         labels=[TYPE_NAMES_KO.get(k, k) if korean else k for k in keys], zorder=2)
            ax.legend(loc="upper left", frameon=False, ncol=len(keys), fontsize=8)
        ticks = [i for i in x if (len(x) - 1 - i) % 3 == 0]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{months[i] // 100 % 100:02d}.{months[i] % 100:02d}" for i in ticks], fontsize=8)
        ax.set_ylim(bottom=0)
        _style(ax)
        fig.subplots_adjust(left=0.06, right=0.99, top=0.95, bottom=0.12)
    return _png(draw)


def render_rates_png(distributions: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> bytes:
    """Grouped bars: how many supply points / lines fell in each reduction-rate bucket."""
    def draw(fig, korean):
        ax = fig.add_subplot(1, 1, 1)
        if not distributions:
            ax.axis("off")
            ax.text(0.5, 0.5, texts.t("charts.no_data", lang="ko" if korean else "en"), ha="center", va="center", fontsize=14)
            return
        labels = [b for b, _ in distributions[0][1]]
        width = 0.8 / len(distributions)
        for j, (name, buckets) in enumerate(distributions):
            total = sum(n for _, n in buckets) or 1
            xs = [i + (j - (len(distributions) - 1) / 2) * width for i in range(len(labels))]
            ax.bar(xs, [100 * n / total for _, n in buckets], width=width * 0.95, color=PALETTE[j + 1],
                   label=f"{name} (n={sum(n for _, n in buckets)})", zorder=2)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels if korean else texts.raw("dashboard.rate_buckets", lang="en")[:len(labels)])
        ax.set_ylabel("%")
        ax.legend(frameon=False, fontsize=8)
        _style(ax)
        fig.subplots_adjust(left=0.07, right=0.99, top=0.95, bottom=0.12)
    return _png(draw)


def render_points_png(rows: Sequence[tuple[str, int, int]]) -> bytes:
    """Horizontal bars per 시군구: points settled (and won to pay in the label)."""
    def draw(fig, korean):
        ax = fig.add_subplot(1, 1, 1)
        if not rows:
            ax.axis("off")
            ax.text(0.5, 0.5, texts.t("charts.no_settlement", lang="ko" if korean else "en"), ha="center", va="center", fontsize=14)
            return
        names = [r[0] for r in rows][::-1]
        points = [r[1] for r in rows][::-1]
        won = [r[2] for r in rows][::-1]
        bars = ax.barh(range(len(rows)), points, color=PALETTE[0], zorder=2)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(names if korean else [f"#{i + 1}" for i in range(len(rows))][::-1], fontsize=8)
        for bar, w in zip(bars, won):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, texts.t("charts.won", lang="ko" if korean else "en", won=f"{w:,}"),
                    va="center", fontsize=8)
        ax.set_xlim(right=max(points or [1]) * 1.3)
        ax.grid(axis="x", color="#eeeeee", zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.subplots_adjust(left=0.22, right=0.98, top=0.95, bottom=0.1)
    return _png(draw, size=(8, max(2.0, 0.45 * len(rows) + 0.8)))
