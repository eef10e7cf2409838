"""Fixtures of the scenario tests: a `chat(user_key)` factory driving whole conversations
through the skill endpoints (see scenario_kit.py) and the default local governments."""
from __future__ import annotations

import pytest

from core.local_governments import seed_local_governments
from scenario_kit import BLOCK_IDS, Chat


@pytest.fixture
def chat(kakao):
    def make(user_key: str = "974d0044d68ac987994f28b902cff0079fa5064cc62908f1bd5", **payload_kw) -> Chat:
        return Chat(kakao, user_key, {v: k for k, v in BLOCK_IDS.items()}, **payload_kw)

    return make


@pytest.fixture
def lgs(db):
    with db.transaction() as s:
        seed_local_governments(s)




@pytest.fixture
def blocks(config):
    """Open Builder block ids configured: quick replies then call blocks (`block` actions)."""
    config.bot.block_ids = dict(BLOCK_IDS)
    return config.bot.block_ids
