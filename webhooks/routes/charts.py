"""GET /charts/<token>.png: a member's usage chart, at an unguessable URL that expires.

The token (core.charts.ChartLinks) is the only credential: no cookie, no member id in the
URL. Expired tokens answer 410, anything else that is not a valid token 404."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request

from bot.context import BotSettings
from core.charts import ChartCache, ChartLinks, ChartTokenError, derive_key, member_chart_png
from core.crypto import MissingCipher

bp = Blueprint("charts", __name__)
log = logging.getLogger("cpoint.charts")


class ChartLink:
    """The bot's link maker (Services.chart_link): this route on the public host."""

    def __init__(self, links: ChartLinks, settings: BotSettings) -> None:
        self.links, self.settings = links, settings

    def __call__(self, member_id: int) -> str:
        return f"{self.settings.public_base_url}/charts/{self.links.token(member_id)}.png"


def init_app(app: Flask) -> None:
    services = app.extensions["cpoint"]
    charts = app.config["CPOINT"].charts
    if isinstance(services.cipher, MissingCipher) and not charts.secret:
        return  # no keys configured (e.g. `cpoint gen-keys` on a fresh machine): charts stay off
    secret = charts.secret or services.cipher.keyed_hash("chart-url-tokens", purpose="charts")
    directory = Path(charts.cache_dir) if charts.cache_dir else Path(app.instance_path) / "charts"
    # Freshness of cached files is judged by real time (file mtimes), not the business clock.
    app.extensions["cpoint_charts"] = ChartCache(
        directory, derive_key(secret, "chart-cache"), ttl_seconds=charts.cache_seconds)
    app.extensions["cpoint_chart_links"] = links = ChartLinks(secret, charts.url_ttl_seconds, services.clock)
    services.chart_link = ChartLink(links, services.settings)


@bp.get("/charts/<token>.png")
def chart(token: str):
    services = current_app.extensions["cpoint"]
    links = current_app.extensions.get("cpoint_chart_links")
    if links is None:
        abort(404)
    try:
        member_id = links.read(token)
    except ChartTokenError as exc:
        if exc.reason == "expired":
            abort(410, description="this chart link has expired")
        abort(404)
    with services.db.session() as s:
        found = member_chart_png(s, member_id, services.clock, current_app.extensions["cpoint_charts"])
    if found is None:
        abort(404)
    png, etag = found
    if request.if_none_match and etag in request.if_none_match:
        resp = Response(status=304)
    else:
        resp = Response(png, mimetype="image/png")
    resp.set_etag(etag)
    # Private data: shared caches must not keep it longer than a short while.
    resp.headers["Cache-Control"] = "private, max-age=300"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
