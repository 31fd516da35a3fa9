"""Teach a spaCy tokenizer the stream's frequent words, because `nlp.memory_zone()` switches its cache off.

Inside a memory zone spaCy's tokenizer caches nothing (a cached entry would point at lexemes the zone frees), so
every whitespace-separated chunk goes through prefix, suffix and infix matching again: NER in a zone cost 10%
(English) to 11-14% (Italian) more CPU than plain `nlp.pipe`, which caches the first 10,000 chunks it meets, and
~0% once taught (docs/benchmarks.md, session 7). Teaching: count the chunks of the documents a model reads and,
at a few checkpoints, tokenize the most frequent ones *outside* the zone, so they become permanent cache entries.
Only chunks seen at least twice in a window are taught, and never more than the tokenizer's cache holds, so a
worker stays bounded: a name seen once stays transient and is freed with its zone.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Sequence

from spacy.language import Language

CHECKPOINTS = (64, 512, 4096)  # documents read when the frequent chunks are taught; counting stops after the last
MIN_COUNT = 2
MAX_CHUNK_CHARS = 40  # URLs and other long runs are rarely repeated; not worth a permanent entry


class FrequentChunks:
    """Which chunks to teach, and when: pure bookkeeping, no spaCy."""

    def __init__(self, capacity: int, checkpoints: Sequence[int] = CHECKPOINTS, min_count: int = MIN_COUNT) -> None:
        self.capacity = capacity
        self.checkpoints = sorted(checkpoints)
        self.min_count = min_count
        self.documents = 0
        self.taught: set[str] = set()
        self._counts: Counter[str] = Counter()

    @property
    def done(self) -> bool:
        return not self.checkpoints or len(self.taught) >= self.capacity

    def observe(self, texts: Sequence[str]) -> list[str]:
        """Count the texts' chunks; at a checkpoint, return the new chunks to teach (most frequent first)."""
        if self.done:
            return []
        for text in texts:
            self._counts.update(chunk for chunk in text.split() if len(chunk) <= MAX_CHUNK_CHARS)
        self.documents += len(texts)
        if self.documents < self.checkpoints[0]:
            return []
        while self.checkpoints and self.checkpoints[0] <= self.documents:
            self.checkpoints.pop(0)
        room = self.capacity - len(self.taught)
        chosen = [chunk for chunk, count in self._counts.most_common()
                  if count >= self.min_count and chunk not in self.taught][:room]
        self.taught.update(chosen)
        self._counts = Counter()  # a fresh window: what is frequent now, not what was once
        return chosen


# One per pipeline object, shared by every Annotator of the process: a tokenizer has one cache to fill.
_trackers: weakref.WeakKeyDictionary[Language, FrequentChunks] = weakref.WeakKeyDictionary()


def before_zone(nlp: Language, texts: Sequence[str]) -> int:
    """Call with a batch's texts before entering its memory zone: teaches the tokenizer what has become frequent
    (outside the zone, so it stays), and returns how many chunks were taught now."""
    # Inside a zone the chunks would neither be cached nor outlive it (in_memory_zone: spaCy 3.8, not in its stubs).
    if nlp.vocab.in_memory_zone:  # type: ignore[attr-defined]
        return 0
    tracker = _trackers.get(nlp)
    if tracker is None:
        tracker = _trackers[nlp] = FrequentChunks(int(getattr(nlp.tokenizer, "max_cache_size", 10_000)))
    chosen = tracker.observe(texts)
    if chosen:
        nlp.tokenizer(" ".join(chosen))
    return len(chosen)
