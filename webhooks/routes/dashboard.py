"""The operator dashboard at /admin: the programme at a glance.

Operators log in by name, password and (admins always) a TOTP code (core.operators) into a
server-side session that lasts DASHBOARD_SESSION_HOURS; the signed, HttpOnly, SameSite cookie
carries only its random id (webhooks.operator_auth). Logout and disabling the operator end it at
once. Every form carries a CSRF token bound to the session; logout is a POST. Failed logins are
counted in the database per account (backoff) and per address (429). The page shows aggregates
of the operator's 시군구 only, never personal data; its figures come from core.dashboard_queries
and its charts are PNGs drawn on the server. Member lookup, exports and campaigns:
webhooks/routes/operator_pages.py.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from datetime import UTC, timedelta
from functools import wraps

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface

from core import dashboard_queries as dq
from core import operators as ops
from core import texts as core_texts
from core.charts import render_members_png, render_points_png, render_rates_png
from core.clock import now_kst, today_kst, utcnow_naive
from core.crypto import MissingCipher
from core.models.members import MemberAddress  # noqa: F401  (models registered)
from webhooks import operator_auth as oa
from webhooks.auth import operator_page_headers
from webhooks.texts import operator_text as ot

bp = Blueprint("dashboard", __name__)

CHARTS = ("members", "rates", "points")


def init_app(app: Flask) -> None:
    cfg = app.config["CPOINT"]
    services = app.extensions["cpoint"]
    if not app.secret_key:
        if cfg.dashboard.secret_key:
            app.secret_key = cfg.dashboard.secret_key
        elif not isinstance(services.cipher, MissingCipher):
            app.secret_key = services.cipher.keyed_hash("flask-session", purpose="secret_key")
        else:  # no keys configured: sessions live only as long as this process
            app.secret_key = secrets.token_hex(32)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if cfg.bot.public_base_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=cfg.dashboard.session_hours)
    app.session_interface = _CookieSessionWhenSent()
    app.extensions["cpoint_dashboard"] = _State()


class _CookieSessionWhenSent(SecureCookieSessionInterface):
    """Flask's signed-cookie session, but a request that carries no session cookie (every
    skill call from Kakao) gets an empty session without building the signing serializer,
    which Flask otherwise does on every request. Writing to it signs as usual."""

    def open_session(self, app, request):
        # the raw header first: parsing cookies costs more than the check
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


class _State:
    """Per-app chart cache (small, in memory)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.charts: OrderedDict[tuple, bytes] = OrderedDict()

    def chart(self, key: tuple, draw) -> bytes:
        with self.lock:
            png = self.charts.get(key)
            if png is not None:
                self.charts.move_to_end(key)
                return png
        png = draw()
        with self.lock:
            self.charts[key] = png
            while len(self.charts) > 32:
                self.charts.popitem(last=False)
        return png


def _cfg():
    return current_app.config["CPOINT"]


def _state() -> _State:
    return current_app.extensions["cpoint_dashboard"]


def _logged_in() -> bool:
    return oa.current_operator() is not None


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    given = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _logged_in():
            if request.path.endswith(".png"):
                abort(401)
            return redirect(url_for("dashboard.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


@bp.app_template_filter("kst")
def _kst(value) -> str:
    """A naive-UTC DateTime column shown in Korea time."""
    if value is None:
        return "—"

    from core.clock import KST

    return value.replace(tzinfo=UTC).astimezone(KST).strftime("%Y-%m-%d %H:%M")


@bp.after_request
def _headers(resp: Response) -> Response:
    return operator_page_headers(resp)


@bp.route("/admin/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        if not _csrf_ok():
            error, status = ot("login.expired"), 400
        else:
            services = current_app.extensions["cpoint"]
            with services.db.transaction() as s:  # failures are counted (committed) too
                result = ops.login(s, services.cipher, oa.now(), request.form.get("name", ""),
                                   request.form.get("password", ""), request.form.get("code", ""),
                                   request.remote_addr or "?")
                raw = None
                if result.operator is not None:
                    raw = ops.open_session(s, result.operator, oa.now(), _cfg().dashboard.session_hours)
                    oa.record(s, "operator.login", subject=result.operator.name, op=result.operator)
            if raw is not None:
                session.clear()  # a fresh session (and CSRF token) after login: no fixation
                session.permanent = True
                session[oa.SESSION_KEY] = raw
                _csrf_token()
                target = request.args.get("next", "")
                if not target.startswith("/admin") or target.startswith("//"):
                    target = url_for("dashboard.index")
                return redirect(target)
            status = {"locked": 429, "ip_blocked": 429}.get(result.outcome, 401)
            error = ot(f"login.{result.outcome}", seconds=result.retry_after)
    return render_template("admin_login.html", error=error, csrf_token=_csrf_token()), status


@bp.post("/admin/logout")
def logout():
    if not _csrf_ok():
        abort(400, description="missing or wrong CSRF token")
    services = current_app.extensions["cpoint"]
    with services.db.transaction() as s:
        ops.close_session(s, session.get(oa.SESSION_KEY), oa.now())
    session.clear()
    return redirect(url_for("dashboard.login"))


def _snapshot():
    services = current_app.extensions["cpoint"]
    with services.db.session() as s:
        return dq.dashboard(s, today_kst(services.clock), utcnow_naive(services.clock), scope=oa.current_scope())


@bp.get("/admin")
@bp.get("/admin/")
@login_required
def index():
    services = current_app.extensions["cpoint"]
    data = _snapshot()
    stamp = hashlib.sha256(repr((data.headline, data.points, [r.counts for r in data.pushes],
                                 data.month_rates, data.half_rates, data.members_over_time.by_type)).encode()).hexdigest()[:12]
    return render_template(
        "admin.html", d=data, csrf_token=_csrf_token(), types=dq.MEMBER_TYPES, push_columns=dq.PUSH_COLUMNS,
        type_names=TYPE_LABELS, now=now_kst(services.clock), stamp=stamp, hold_labels=HOLD_LABELS,
        operator=oa.current_operator(),
    )


@bp.get("/admin/charts/<name>.png")
@login_required
def chart(name: str):
    if name not in CHARTS:
        abort(404)
    data = _snapshot()
    if name == "members":
        mot = data.members_over_time
        key = (name, tuple(mot.months), tuple(sorted((k, tuple(v)) for k, v in mot.by_type.items())))
        draw = lambda: render_members_png(mot.months, mot.by_type)  # noqa: E731
    elif name == "rates":
        dists = [(d.label, d.buckets) for d in (data.month_rates, data.half_rates) if d is not None]
        key = (name, repr(dists))
        draw = lambda: render_rates_png(dists)  # noqa: E731
    else:
        latest = data.points[0].half if data.points else None
        rows = [(r.name, r.points, r.won) for r in data.points if r.half == latest]
        key = (name, latest, tuple(rows))
        draw = lambda: render_points_png(rows)  # noqa: E731
    png = _state().chart(key, draw)
    return Response(png, mimetype="image/png")


TYPE_LABELS = core_texts.raw("dashboard.member_types")
HOLD_LABELS = core_texts.raw("dashboard.hold_reasons")
