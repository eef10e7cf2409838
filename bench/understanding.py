"""How well and how cheaply the bot understands typed text (bot/understanding).

Prints, for the evaluation set tests/fixtures/understanding/eval.tsv (never used for tuning):
top-1 accuracy per intent and overall, the confusions, what the two thresholds do with the
answers (confident and right, confident and WRONG, close call with the right intent among the
choices, not understood); the same on the example bank by leave-one-out; the memory of the
process before and after the model loads; the cost in microseconds of classifying one
utterance, and of a fallback turn through the whole skill server with and without
understanding (without: the turn goes straight to the not-understood reply).

    python bench/understanding.py [--turns 500] [--blocks 5] [--tune]

--tune searches the thresholds and classifier options on the BANK by leave-one-out and prints
the best settings for bot/understanding/thresholds.toml.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import logging
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project root
from bench import samples  # noqa: E402

EVAL = ROOT / "tests" / "fixtures" / "understanding" / "eval.tsv"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def read_eval() -> list[tuple[str, str]]:
    with EVAL.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(u, i) for u, i in rows[1:]]


def outcomes(pairs, decide):
    """pairs: (gold, Result). Counts of confident-right/wrong, close (gold offered or not), none."""
    c = Counter()
    for gold, result in pairs:
        u = decide(result)
        if u.outcome == "confident":
            c["confident_right" if u.intent == gold else "confident_wrong"] += 1
        elif u.outcome == "close":
            c["close_offered" if gold in u.choices else "close_missed"] += 1
        else:
            c["none"] += 1
    return c


def report(title: str, pairs, decide) -> float:
    n = len(pairs)
    right = sum(1 for gold, r in pairs if r.top and r.top.intent == gold)
    per = defaultdict(lambda: [0, 0])
    confusions = Counter()
    for gold, r in pairs:
        per[gold][1] += 1
        got = r.top.intent if r.top else "(none)"
        if got == gold:
            per[gold][0] += 1
        else:
            confusions[(gold, got)] += 1
    print(f"\n== {title}: {n} utterances")
    print(f"top-1 accuracy: {right / n:6.1%}  ({right}/{n})")
    c = outcomes(pairs, decide)
    for key in ("confident_right", "confident_wrong", "close_offered", "close_missed", "none"):
        print(f"  {key:16s} {c[key] / n:6.1%}  ({c[key]})")
    print("per intent (top-1):")
    for gold in sorted(per):
        ok, tot = per[gold]
        print(f"  {gold:24s} {ok / tot:6.1%}  {ok}/{tot}")
    if confusions:
        print("confusions (gold -> predicted: count):")
        for (gold, got), k in confusions.most_common():
            print(f"  {gold} -> {got}: {k}")
    return right / n


def tune(understanding, Classifier, Options) -> None:
    """Grid search on the bank by leave-one-out: options by top-1, then thresholds that keep
    confident-wrong at most 2% while answering as many as possible confidently."""
    from dataclasses import replace
    from functools import lru_cache

    from bot.understanding import analyser

    analyser.morphemes = lru_cache(maxsize=None)(analyser.morphemes)  # the same examples each time
    bank = understanding.examples()
    best = None
    grid = itertools.product((0.0, 0.3), (0.3, 0.5, 0.8), (0.0, 0.15, 0.3), (0.3, 0.5), (0.0, 0.2, 0.4))
    for bw, cw, rw, blend, centroid in grid:
        opts = Options(bigram_weight=bw, char_weight=cw, raw_char_weight=rw, top_k_blend=blend,
                       centroid_blend=centroid)
        loo = Classifier(bank, opts).leave_one_out()
        acc = sum(1 for _, g, r in loo if r.top and r.top.intent == g) / len(loo)
        print(f"  bigram {bw} char {cw} raw char {rw} blend {blend} centroid {centroid}: LOO top-1 {acc:.1%}",
              flush=True)
        if best is None or acc > best[0]:
            best = (acc, opts, loo)
    acc, opts, loo = best
    print(f"best options: {opts} (LOO {acc:.1%})")
    pairs = [(g, r) for _, g, r in loo]
    base = understanding.thresholds()
    found = None
    for conf, margin, close in itertools.product((0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6),
                                                 (0.0, 0.03, 0.05, 0.08, 0.1, 0.15), (0.15, 0.2, 0.25)):
        limits = replace(base, confident=conf, margin=margin, close=close)
        c = outcomes(pairs, lambda r, limits=limits: understanding.decide(r, limits))
        wrong = c["confident_wrong"] / len(pairs)
        if wrong <= 0.02 and (found is None or c["confident_right"] > found[0]):
            found = (c["confident_right"], limits, c)
    if found:
        print(f"best thresholds (LOO confident-wrong <= 2%): {found[1]} -> {dict(found[2])}")


def bot_turn_cost(turns: int, blocks: int) -> dict[str, tuple[float, float, float]]:
    """µs per fallback turn through the skill server: answered through understanding, through
    understanding but always with the not-understood reply, and without understanding; for the
    fixed bench sentence (a cache hit but the first time) and for the realistic mix."""
    from bench import turn_cost
    from bench import webhook as bench_webhook
    from core.crypto import generate_hash_key, generate_key
    from migrations import upgrade_to_head

    url = f"sqlite:///{tempfile.mkdtemp(prefix='cpoint-understanding-')}/bench.db"
    upgrade_to_head(url)
    os.environ.update({"DATABASE_URL": url, "SKILL_SECRET": bench_webhook.SECRET,
                       "KAKAO_BOT_ID": bench_webhook.BOT_ID, "FIELD_ENCRYPTION_KEY": generate_key(),
                       "FIELD_HASH_KEY": generate_hash_key(), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"})
    from bot.dialogs import chat
    from webhooks import create_app

    app = create_app()
    devnull = open(os.devnull, "w")
    for handler in logging.getLogger("cpoint").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    router = app.extensions["cpoint_bot"].router
    out = {}
    for mix in ("fixed", "eval"):
        bodies = [b for b in turn_cost.make_bodies(bench_webhook, mix, turns * (blocks + 2)) if b[0] == "fallback"]
        with_us = turn_cost.measure(app, bodies, bench_webhook.SECRET, turns, blocks)
        original = router.understand, router.run_intent, chat.choices_reply
        # understanding, but every outcome answered with the not-understood reply: the cost
        # of understanding alone (the answers of understood questions cost what they cost)
        router.run_intent = lambda ctx, intent: chat.not_understood_reply(ctx)
        chat.choices_reply = lambda ctx, choices: chat.not_understood_reply(ctx)
        try:
            alone_us = turn_cost.measure(app, bodies, bench_webhook.SECRET, turns, blocks)
            router.understand = chat.not_understood_reply  # the same reply, without understanding
            without_us = turn_cost.measure(app, bodies, bench_webhook.SECRET, turns, blocks)
        finally:
            router.understand, router.run_intent, chat.choices_reply = original
        out[mix] = (with_us, alone_us, without_us)
    return out


def smaps() -> dict[str, float]:
    """MB of this process's memory: Rss, Pss, shared and private pages."""
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return out


def fork_memory(understanding, utterances: list[str]) -> None:
    """What gunicorn --preload would give: the model loaded in the parent, a forked worker
    understanding texts. Prints the child's memory: how much stays shared with the parent
    (copy-on-write) and how much became its own."""
    pid = os.fork()
    if pid == 0:
        try:
            for u in utterances:
                understanding.understand(u + " " + samples("understanding")["new_word"])  # a word never seen
            m = smaps()
            print(f"memory of a forked worker after {len(utterances)} turns: RSS {m['Rss']:.0f} MB, of which "
                  f"shared with the parent {m['Shared_Clean'] + m['Shared_Dirty']:.0f} MB and its own "
                  f"{m['Private_Clean'] + m['Private_Dirty']:.0f} MB (PSS {m['Pss']:.0f} MB)", flush=True)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def classify_costs(understanding, clf, utterances: list[str], blocks: int) -> dict[str, float]:
    """µs per utterance: the classifier with no word analysed yet (cold), with the words known
    but the sentence new, understand() on the same text again, and on a text that normalises
    to one understood before."""
    from bot.understanding import analyser

    texts = [understanding.normalise(u) for u in utterances]

    def best_of(run, before=lambda: None) -> float:
        best = float("inf")
        for _ in range(blocks):
            before()
            t = time.perf_counter()
            run()
            best = min(best, (time.perf_counter() - t) / len(texts))
        return best * 1e6

    def classify_all():
        for t in texts:
            understanding.decide(clf.classify_normalised(t))

    cold = best_of(classify_all, analyser._words.clear)
    classify_all()
    words_known = best_of(classify_all)
    for u in utterances:
        understanding.understand(u)
    hit = best_of(lambda: [understanding.understand(u) for u in utterances])
    normalised_hit = best_of(lambda: [understanding.understand_normalised(understanding.normalise(u))
                                      for u in utterances])
    return {"cold": cold, "words known": words_known, "hit": hit, "normalised hit": normalised_hit}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=500)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no per-intent lines for the bank")
    args = ap.parse_args()

    before = rss_mb()
    t0 = time.perf_counter()
    from bot import understanding
    from bot.understanding import analyser
    from bot.understanding.classifier import Classifier, Options

    analyser.kiwi()
    t_kiwi = time.perf_counter() - t0
    after_kiwi = rss_mb()
    clf = understanding.classifier()
    t_all = time.perf_counter() - t0
    after = rss_mb()
    print(f"memory: RSS {before:.0f} MB before, {after_kiwi:.0f} MB with kiwipiepy loaded, "
          f"{after:.0f} MB with the classifier ({len(clf.labels)} examples, {len(clf.intents)} intents)")
    print(f"load: kiwipiepy {t_kiwi:.2f} s, classifier ready after {t_all:.2f} s")
    print(f"thresholds: {understanding.thresholds()}")

    if args.tune:
        tune(understanding, Classifier, Options)
        return

    rows = read_eval()
    results = [(gold, clf.classify(u)) for u, gold in rows]
    acc = report("evaluation set", results, understanding.decide)
    english = [(g, r) for (u, g), (_, r) in zip(rows, results) if u.isascii()]
    korean = [(g, r) for (u, g), (_, r) in zip(rows, results) if not u.isascii()]
    for name, part in (("Korean", korean), ("English", english)):
        ok = sum(1 for g, r in part if r.top and r.top.intent == g)
        c = outcomes(part, understanding.decide)
        print(f"  {name}: top-1 {ok / len(part):.1%} of {len(part)}, confidently wrong "
              f"{c['confident_wrong'] / len(part):.1%}")
    loo = [(g, r) for _, g, r in clf.leave_one_out()]
    if args.quiet:
        n = len(loo)
        print(f"\n== bank leave-one-out: top-1 {sum(1 for g, r in loo if r.top and r.top.intent == g) / n:.1%}, "
              f"{dict(outcomes(loo, understanding.decide))}")
    else:
        report("example bank, leave-one-out", loo, understanding.decide)

    utterances = [u for u, _ in rows]
    fork_memory(understanding, utterances)
    costs = classify_costs(understanding, clf, utterances, args.blocks)
    print(f"\ncost per utterance (best of {args.blocks} passes over the eval set): classify, no word seen "
          f"{costs['cold']:.0f} us; classify, words known {costs['words known']:.0f} us; "
          f"understand, same text again {costs['hit']:.2f} us, same once normalised {costs['normalised hit']:.1f} us")
    for mix, (with_us, alone_us, without_us) in bot_turn_cost(args.turns, args.blocks).items():
        what = ("one fixed out-of-scope sentence, cached" if mix == "fixed"
                else "eval sentences, every second one new: half sentence-cache misses")
        print(f"cost: fallback turn ({what}): {without_us:.0f} us without understanding, {alone_us:.0f} us "
              f"understanding it (+{alone_us - without_us:.0f} us), {with_us:.0f} us answering what was understood")
    print(f"memory at the end: RSS {rss_mb():.0f} MB")
    print(f"\nSUMMARY top-1 {acc:.1%}")


if __name__ == "__main__":
    main()
