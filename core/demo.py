"""Demo citizens (the emulator's user switcher) and the demo data set (`cpoint demo-data`)."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Every chat user the emulator may act as has a key with this prefix; real botUserKeys are
# 70-character hex strings, so the emulator can never speak as a real citizen.
DEMO_USER_PREFIX = "demo-"
DEMO_USER_KEY_RE = re.compile(r"^demo-[A-Za-z0-9_-]{1,60}$")


@dataclass(frozen=True)
class DemoCitizen:
    key: str
    name: str
    about: str  # one line shown in the emulator's user switcher


DEMO_CITIZENS: tuple[DemoCitizen, ...] = (
    DemoCitizen("demo-visitor", "새 방문자", "아직 가입하지 않은 사용자예요"),
    DemoCitizen("demo-citizen-01", "김민지", "수원시 영통구 · 아파트 · 현금"),
    DemoCitizen("demo-citizen-02", "이준호", "수원시 영통구 · 단독주택 · 기부"),
    DemoCitizen("demo-citizen-03", "박서연", "세종특별자치시 · 아파트 · 상품권"),
    DemoCitizen("demo-citizen-04", "최도윤", "전주시 완산구 · 상가 · 현금"),
    DemoCitizen("demo-citizen-05", "정하은", "전주시 완산구 · 아파트 · 현금"),
)


def is_demo_user_key(key: object) -> bool:
    return isinstance(key, str) and bool(DEMO_USER_KEY_RE.match(key))
