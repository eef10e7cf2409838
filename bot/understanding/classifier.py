"""Intent classification over an example bank: TF-IDF over content morphemes and character
n-grams, cosine similarity to every example, each intent scored by its nearest examples and
its centroid.

Why this shape: the bank is small (about twenty examples per intent), citizens drop spaces
and misspell, and the answer must come in well under a millisecond. Content morphemes
(kiwipiepy; endings, particles and suffixes dropped, stems as lemmas, synonyms folded by
texts/ko/synonyms.toml) carry the meaning of a sentence whatever its spacing and endings; their
character n-grams, and with a small weight those of the whole text, catch what the analyser
splits differently (typos, 반말, English). Endings are left out on purpose: '...어요', '...나요'
made out-of-scope chat look like every question. Scores are cosines in [0, 1] blended as
0.1 best + 0.5 mean of the two best + 0.4 centroid (thresholds.toml), so the confidence
thresholds mean the same for short and long sentences. bench/understanding.py compares the
variants (--tune, by leave-one-out on the bank).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from bot.understanding import analyser
from bot.understanding.normalise import normalise, squash

_PAD = np.array([-1.0])


@dataclass(frozen=True)
class Options:
    morpheme_weight: float = 1.0
    bigram_weight: float = 0.0  # consecutive morphemes ('포인트 언제')
    char_weight: float = 0.4  # character n-grams of the content morphemes (no endings, no particles)
    raw_char_weight: float = 0.0  # character n-grams of the whole text (endings included)
    char_sizes: tuple[int, ...] = (2, 3)
    top_k: int = 2  # an intent's score blends its best example cosine...
    top_k_blend: float = 0.3  # ...with the mean of its k best...
    centroid_blend: float = 0.0  # ...and with the cosine to the intent's centroid


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


def _grams(flat: str, sizes, weight: float, prefix: str, feats: dict[str, float]) -> None:
    grams = [prefix + flat[i:i + n] for n in sizes for i in range(len(flat) - n + 1)]
    grams += [prefix + flat for n in sizes if 0 < len(flat) < n]
    for gram, count in Counter(grams).items():
        feats[gram] += count * weight


def features(text: str, options: Options, morphemes: list[str] | None = None) -> dict[str, float]:
    """Weighted features of a normalised text: its content morphemes (synonyms folded), their
    character n-grams (typos, compounds split differently) and, if weighted, the n-grams of
    the whole text."""
    feats: defaultdict[str, float] = defaultdict(float)
    ms = analyser.morphemes(text) if morphemes is None else morphemes
    for m, count in Counter(ms).items():
        feats["m:" + m] += count * options.morpheme_weight
    if options.bigram_weight:
        for a, b in zip(ms, ms[1:]):
            feats[f"b:{a}_{b}"] += options.bigram_weight
    if options.char_weight:
        _grams("".join(ms), options.char_sizes, options.char_weight, "c:", feats)
    if options.raw_char_weight:
        _grams(squash(text), options.char_sizes, options.raw_char_weight, "r:", feats)
    return feats


@dataclass
class Classifier:
    """Built once from (utterance, intent) pairs; `classify` is read-only and thread-safe.

    The examples' unit TF-IDF vectors are kept column-wise (one run of example ids and weights
    per feature, CSR-like), so the cosines of a query with every example are one gather and one
    weighted bincount over the query's few features."""

    examples: list[tuple[str, str]]
    options: Options = field(default_factory=Options)
    ranked_max: int = 5  # intents kept in a Result (the decision looks at the first few)

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
        n = len(self.labels)
        self._starts = np.array(starts, dtype=np.intp)
        sizes = np.diff(np.append(self._starts, n))
        # Each intent's examples as a row of a padded table (pad: index n, a score of -1).
        width = int(sizes.max()) if n else 1
        self._table = np.full((len(starts), width), n, dtype=np.intp)
        for row, (start, size) in enumerate(zip(starts, sizes)):
            self._table[row, :size] = np.arange(start, start + size)
        bags = [features(t, self.options) for t in self.texts]
        df: Counter = Counter()
        for bag in bags:
            df.update(bag.keys())
        self.idf = {f: math.log((n + 1) / (d + 1)) + 1.0 for f, d in df.items()}
        self.vocab = {f: k for k, f in enumerate(self.idf)}
        postings: list[list[tuple[int, float]]] = [[] for _ in self.vocab]
        for i, bag in enumerate(bags):
            for f, w in self._vector(bag).items():
                postings[self.vocab[f]].append((i, w))
        lengths = np.array([len(p) for p in postings], dtype=np.intp)
        self._indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.intp)
        self._indices = np.array([i for p in postings for i, _ in p], dtype=np.intp)
        self._data = np.array([w for p in postings for _, w in p], dtype=np.float64)
        # The centroid of an intent is the sum of its unit vectors: its cosine with a query is
        # the sum of the query's example cosines over the norm of that sum.
        centroid_sq = np.zeros(len(starts))
        for col in range(len(postings)):
            lo, hi = self._indptr[col], self._indptr[col + 1]
            per = np.bincount(np.searchsorted(self._starts, self._indices[lo:hi], side="right") - 1,
                              weights=self._data[lo:hi], minlength=len(starts))
            centroid_sq += per * per
        self._centroid_norm = np.sqrt(np.maximum(centroid_sq, 1e-12))

    def _vector(self, bag: dict[str, float]) -> dict[str, float]:
        idf = self.idf
        vec = {f: (1.0 + math.log(c) if c >= 1 else c) * idf[f] for f, c in bag.items() if f in idf}
        norm = math.sqrt(sum(w * w for w in vec.values()))
        return {f: w / norm for f, w in vec.items()} if norm else {}

    def example_scores(self, text: str, morphemes: list[str] | None = None) -> np.ndarray:
        """Cosine of the normalised `text` with every example (in self.labels order)."""
        vec = self._vector(features(text, self.options, morphemes))
        n = len(self.labels)
        if not vec:
            return np.zeros(n)
        ids = np.fromiter((self.vocab[f] for f in vec), dtype=np.intp, count=len(vec))
        weights = np.fromiter(vec.values(), dtype=np.float64, count=len(vec))
        lo, hi = self._indptr[ids], self._indptr[ids + 1]
        lengths = hi - lo
        total = int(lengths.sum())
        if not total:
            return np.zeros(n)
        ends = np.cumsum(lengths)
        positions = np.arange(total) + np.repeat(lo - (ends - lengths), lengths)
        return np.bincount(self._indices[positions], weights=self._data[positions] * np.repeat(weights, lengths),
                           minlength=n)

    def intent_scores(self, scores: np.ndarray) -> np.ndarray:
        """Each intent's score from its examples' cosines (in self.intents order)."""
        o = self.options
        padded = np.concatenate((scores, _PAD))[self._table]
        k = max(1, min(o.top_k, padded.shape[1]))
        top = -np.partition(-padded, k - 1, axis=1)[:, :k] if k > 1 else padded.max(axis=1, keepdims=True)
        best = top.max(axis=1)
        out = best
        if k > 1 and o.top_k_blend:
            mean = np.maximum(top, 0.0).sum(axis=1) / k
            out = out + o.top_k_blend * (mean - best)
        if o.centroid_blend:
            centroid = np.add.reduceat(scores, self._starts) / self._centroid_norm
            out = out + o.centroid_blend * (centroid - best)
        return out

    def rank(self, scores: np.ndarray, exclude: int | None = None) -> tuple[Scored, ...]:
        if exclude is not None:
            scores = scores.copy()
            scores[exclude] = 0.0
        per = self.intent_scores(scores)
        m = min(self.ranked_max, len(per))
        top = np.argpartition(-per, m - 1)[:m] if m < len(per) else np.arange(len(per))
        top = top[np.argsort(-per[top])]
        return tuple(Scored(self.intents[i], float(per[i])) for i in top if per[i] > 0)

    def classify(self, utterance: str | None) -> Result:
        return self.classify_normalised(normalise(utterance))

    def classify_normalised(self, text: str) -> Result:
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
