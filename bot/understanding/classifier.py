"""Intent classification over an example bank: TF-IDF over morphemes and character n-grams,
cosine similarity to every example, each intent scored by its nearest examples.

Why this shape: the bank is small (about twenty examples per intent), citizens drop spaces
and misspell, and the answer must come in well under a millisecond. Morphemes (kiwipiepy) carry
the meaning of a sentence whatever its spacing and endings; character n-grams of the text
without spaces catch what the analyser splits differently (typos, 반말, English). Scores are
cosines in [0, 1], so the confidence thresholds (thresholds.toml) mean the same for short and
long sentences, unlike raw BM25 scores. bench/understanding.py compares the variants.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from bot.understanding import analyser
from bot.understanding.normalise import normalise, squash


@dataclass(frozen=True)
class Options:
    morpheme_weight: float = 1.0
    bigram_weight: float = 0.0  # consecutive morphemes ('포인트 언제')
    char_weight: float = 0.4
    char_sizes: tuple[int, ...] = (2, 3)
    top_k: int = 2  # an intent's score: the mean of its k best example cosines...
    top_k_blend: float = 0.3  # ...blended with the best one: (1-b)*best + b*mean(top k)


@dataclass(frozen=True)
class Scored:
    intent: str
    score: float


@dataclass(frozen=True)
class Result:
    text: str  # normalised
    ranked: tuple[Scored, ...]  # best first, one per intent with any overlap

    @property
    def top(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def margin(self) -> float:
        if not self.ranked:
            return 0.0
        second = self.ranked[1].score if len(self.ranked) > 1 else 0.0
        return self.ranked[0].score - second


def features(text: str, options: Options, morphemes: list[str] | None = None) -> Counter:
    """Weighted features of a normalised text."""
    feats: Counter = Counter()
    ms = analyser.morphemes(text) if morphemes is None else morphemes
    for m in ms:
        feats["m:" + m] += options.morpheme_weight
    if options.bigram_weight:
        for a, b in zip(ms, ms[1:]):
            feats[f"b:{a}_{b}"] += options.bigram_weight
    flat = squash(text)
    for n in options.char_sizes:
        for i in range(len(flat) - n + 1):
            feats["c:" + flat[i:i + n]] += options.char_weight
        if len(flat) < n and flat:
            feats["c:" + flat] += options.char_weight
    return feats


@dataclass
class Classifier:
    """Built once from (utterance, intent) pairs; `classify` is read-only and thread-safe."""

    examples: list[tuple[str, str]]
    options: Options = field(default_factory=Options)

    def __post_init__(self) -> None:
        texts = [normalise(u) for u, _ in self.examples]
        order = sorted(range(len(texts)), key=lambda i: self.examples[i][1])  # grouped by intent
        self.texts = [texts[i] for i in order]
        self.labels = [self.examples[i][1] for i in order]
        self.intents: list[str] = []
        starts = []
        for i, label in enumerate(self.labels):
            if not self.intents or self.intents[-1] != label:
                self.intents.append(label)
                starts.append(i)
        self._starts = np.array(starts, dtype=np.intp)
        self._example_intent = np.repeat(np.arange(len(self.intents)),
                                         np.diff(np.append(self._starts, len(self.labels))))
        bags = [features(t, self.options) for t in self.texts]
        df: Counter = Counter()
        for bag in bags:
            df.update(bag.keys())
        n = len(bags)
        self.idf = {f: math.log((n + 1) / (d + 1)) + 1.0 for f, d in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, bag in enumerate(bags):
            vec = self._vector(bag)
            for f, w in vec.items():
                ids, ws = postings.setdefault(f, ([], []))
                ids.append(i)
                ws.append(w)
        self._postings = {f: (np.array(ids, dtype=np.intp), np.array(ws)) for f, (ids, ws) in postings.items()}

    def _vector(self, bag: Counter) -> dict[str, float]:
        vec = {f: (1.0 + math.log(c) if c >= 1 else c) * self.idf[f] for f, c in bag.items() if f in self.idf}
        norm = math.sqrt(sum(w * w for w in vec.values()))
        return {f: w / norm for f, w in vec.items()} if norm else {}

    def example_scores(self, text: str) -> np.ndarray:
        """Cosine of the normalised `text` with every example (in self.labels order)."""
        scores = np.zeros(len(self.labels))
        for f, w in self._vector(features(text, self.options)).items():
            ids, ws = self._postings[f]
            scores[ids] += ws * w
        return scores

    def rank(self, scores: np.ndarray, exclude: int | None = None) -> tuple[Scored, ...]:
        if exclude is not None:
            scores = scores.copy()
            scores[exclude] = 0.0
        best = np.maximum.reduceat(scores, self._starts)
        o = self.options
        if o.top_k > 1 and o.top_k_blend:
            # The k best of each intent: sorting group*4 + score keeps every intent's examples
            # where they were (groups are contiguous and scores lie in [0, 1]), ascending within.
            ordered = np.sort(self._example_intent * 4.0 + scores) - self._example_intent * 4.0
            ends = np.append(self._starts[1:], len(scores))
            topk = sum(ordered[ends - j] for j in range(1, o.top_k + 1)) / o.top_k
            best = (1 - o.top_k_blend) * best + o.top_k_blend * topk
        order = np.argsort(-best)
        return tuple(Scored(self.intents[i], float(best[i])) for i in order if best[i] > 0)

    def classify(self, utterance: str | None) -> Result:
        text = normalise(utterance)
        if not text:
            return Result(text, ())
        return Result(text, self.rank(self.example_scores(text)))

    def leave_one_out(self) -> list[tuple[str, str, Result]]:
        """Each bank example classified against all the others: (text, gold, result)."""
        out = []
        for i, text in enumerate(self.texts):
            scores = self.example_scores(text)
            out.append((text, self.labels[i], Result(text, self.rank(scores, exclude=i))))
        return out
