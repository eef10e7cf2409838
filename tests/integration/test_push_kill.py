"""Kill test: a sender process (`flask --app webhooks cpoint push`) is killed with SIGKILL in the
middle of sending; after a restart nobody received a message twice, and everybody received one
except (possibly) the members of the batch that was in flight, reported uncertain: at most one
batch per killed sender. Checked on the loopback stand-in's record of every user it received."""
from __future__ import annotations

import signal

import pytest
from sqlalchemy import func, select

from bot.push.standin import StandIn
from core.models import EventBatch
from tests.auxil.push import add_members, add_notifications
from tests.auxil.pushproc import REST_KEY, cpoint, env_for, last_json_line, notification_states, wait_for

N = 2500  # 25 batches of 100


def check_exactly_once(db, standin: StandIn, kills: int) -> dict:
    received = standin.received()
    states = notification_states(db)
    assert len(states) == N
    assert standin.stats()["duplicates"] == 0, "a member received a message twice"
    leftover = {m: s for m, (s, _b) in states.items() if s not in ("sent", "uncertain")}
    assert leftover == {}, f"not everything was handled: {list(leftover.items())[:5]}"
    uncertain_batches = {b for s, b in states.values() if s == "uncertain"}
    assert len(uncertain_batches) <= kills, "more than one uncertain batch per killed sender"
    for member, (state, _batch) in states.items():
        key = f"user-{member:06d}"
        if state == "sent":
            assert received[key] == 1, f"{key} sent but received {received[key]} times"
        else:
            assert received[key] <= 1
    not_received = {f"user-{m:06d}" for m in states} - set(received)
    uncertain_members = {f"user-{m:06d}" for m, (s, _b) in states.items() if s == "uncertain"}
    assert not_received <= uncertain_members, "a member outside the uncertain batch got nothing"
    return {"uncertain_batches": len(uncertain_batches), "not_received": len(not_received)}


@pytest.fixture
def standin():
    with StandIn(key=REST_KEY, latency=0.005, keep_bodies=False) as s:
        yield s


def test_sigkill_while_a_batch_is_in_flight(db, config, clock, standin, tmp_path):
    """The worst moment: Kakao has the 9th batch, the sender dies before recording the answer."""
    add_members(db, N)
    add_notifications(db, range(1, N + 1), clock=clock)
    env = env_for(db, config, standin.url, PUSH_RATE_PER_SEC=20000)
    standin.control({"hang_on": 9})
    log = tmp_path / "push.log"
    first = cpoint("push", "--json", env=env, log_path=log)
    try:
        wait_for(standin.hung.is_set, 25, "the 9th request")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    standin.release()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EventBatch).where(EventBatch.state == "in_flight")) == 1

    second = cpoint("push", "--json", env=env, log_path=tmp_path / "push2.log")
    assert second.wait(30) == 0, (tmp_path / "push2.log").read_text()[-3000:]
    report = last_json_line(tmp_path / "push2.log")
    assert len(report["recovered_batches"]) == 1 and report["uncertain"] == 0
    assert report["sent"] == N - 8 * 100 - 100  # 8 batches before the kill, 1 uncertain
    outcome = check_exactly_once(db, standin, kills=1)
    assert outcome == {"uncertain_batches": 1, "not_received": 0}  # Kakao did get it: nobody twice
    assert standin.stats()["requests"] == N // 100  # the uncertain batch was not posted again


@pytest.mark.parametrize("after_requests", [3, 14])
def test_sigkill_at_a_random_moment_then_again(db, config, clock, standin, tmp_path, after_requests):
    """Kill whenever the stand-in has seen some requests (the sender may be waiting for tokens,
    claiming, posting or recording), restart, kill again, restart to the end."""
    add_members(db, N)
    add_notifications(db, range(1, N + 1), clock=clock)
    env = env_for(db, config, standin.url, PUSH_RATE_PER_SEC=3000)
    kills = 0
    for round_, threshold in enumerate((after_requests, after_requests + 6)):
        proc = cpoint("push", "--json", env=env, log_path=tmp_path / f"push{round_}.log")
        try:
            wait_for(lambda threshold=threshold, proc=proc: standin.stats()["requests"] >= threshold or proc.poll() is not None, 25,
                     f"{threshold} requests")
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    final = cpoint("push", "--json", env=env, log_path=tmp_path / "final.log")
    assert final.wait(30) == 0, (tmp_path / "final.log").read_text()[-3000:]
    assert kills >= 1
    check_exactly_once(db, standin, kills=kills)
