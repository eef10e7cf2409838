"""Request authentication checks, each on by default and behind its own setting."""
from __future__ import annotations

import hmac


def secret_ok(expected: str | None, given: str | None) -> bool:
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def bearer_ok(expected: str | None, header: str | None) -> bool:
    """`Authorization: Bearer <ADMIN_TOKEN>`; closed while no token is configured."""
    if not expected or not header or not header.startswith("Bearer "):
        return False
    return secret_ok(expected, header[len("Bearer "):].strip())


def kakao_ak_ok(expected: str | None, header: str | None) -> bool:
    """`Authorization: KakaoAK <key>` as sent by Kakao's channel webhook."""
    if not expected or not header or not header.startswith("KakaoAK "):
        return False
    return secret_ok(expected, header[len("KakaoAK "):].strip())


def bot_id_ok(expected: str | None, given: object) -> bool:
    """The operating bot id, or the same id with '!' (the development channel)."""
    if not expected or not isinstance(given, str):
        return False
    return given == expected or given == expected + "!"


def operator_page_headers(resp, *, scripts: bool = False, remote_images: bool = False):
    """Headers of every operator page: never cached, never framed, no sniffing, a strict CSP
    (scripts only from this server where a page needs one, e.g. the campaign preview)."""
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    images = "'self' data: https:" if remote_images else "'self' data:"
    script = "'self'" if scripts else "'none'"
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src {images}; style-src 'self'; script-src {script}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return resp
