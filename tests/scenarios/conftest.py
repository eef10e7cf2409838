"""Fixtures of the scenario tests: a `chat(user_key)` factory driving whole conversations
through the skill endpoints (see tests/auxil/scenarios.py) and the default local governments."""
from __future__ import annotations

import pytest

from core.local_governments import seed_local_governments
from tests.auxil.scenarios import BLOCK_IDS, Chat


@pytest.fixture
def chat(kakao):
    def make(user_key: str = "974d0044d68ac987994f28b902cff0079fa5064cc62908f1bd5", **payload_kw) -> Chat:
        return Chat(kakao, user_key, {v: k for k, v in BLOCK_IDS.items()}, **payload_kw)

    return make


@pytest.fixture
def lgs(db):
    """The 18 시군구 with an operator's figures, then every other one of the shipped list with
    the documented defaults (as init-db and load-local-governments leave a database)."""
    from core.sigungu import load_sigungu

    with db.transaction() as s:
        seed_local_governments(s)
        load_sigungu(s)




@pytest.fixture
def blocks(config):
    """Open Builder block ids configured: quick replies then call blocks (`block` actions)."""
    config.bot.block_ids = dict(BLOCK_IDS)
    return config.bot.block_ids
