"""The production `web` command (the Procfile's) keeps answering while clients hold
connections open: 10 that sent half a request's headers and wait, 10 that trickle a body.
`/healthz` and a skill call must each still answer within a second."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.auxil.support import BOT_ID, ENC_KEY, HASH_KEY, SECRET, make_payload

ROOT = Path(__file__).resolve().parents[2]


def procfile_web() -> str:
    line = next(l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    return line.split(":", 1)[1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, raw: bytes, timeout: float) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + _length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data, time.monotonic() - started


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_idle_and_trickling_clients_do_not_stop_the_server(db, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db.url, "SKILL_SECRET": SECRET, "KAKAO_BOT_ID": BOT_ID,
           "FIELD_ENCRYPTION_KEY": ENC_KEY, "FIELD_HASH_KEY": HASH_KEY, "USER_RATE_LIMIT": "off",
           "PORT": str(port), "HOST": "127.0.0.1", "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = (tmp_path / "web.log").open("wb")
    proc = subprocess.Popen(["bash", "-c", "exec " + procfile_web()], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                data, _ = request(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 2)
                if data.startswith(b"HTTP/1.1 200"):
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "web.log").read_text()
            time.sleep(0.2)

        body = json.dumps(make_payload("u-slow-clients", "도움말", "help")).encode()
        head = (f"POST /kakao/skills/help HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                f"X-Skill-Secret: {SECRET}\r\n").encode()
        for _ in range(10):  # half a request's headers, then nothing
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(head)
            held.append(s)
        for _ in range(10):  # a whole head, then the body a byte at a time
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:1])
            held.append(s)
        time.sleep(0.5)
        for round_ in range(3):
            for s in held[10:]:
                try:
                    s.sendall(body[1 + round_:2 + round_])
                except OSError:
                    pass
            data, took = request(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1)
            assert data.startswith(b"HTTP/1.1 200") and took < 1, (data[:80], took)
            data, took = request(port, head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                                 + body, 1)
            assert data.startswith(b"HTTP/1.1 200") and took < 1, (data[:80], took)
            assert json.loads(data.split(b"\r\n\r\n", 1)[1])["version"] == "2.0"
            time.sleep(0.3)
    finally:
        for s in held:
            s.close()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
