"""Topic quality on a labelled set (tests/fixtures/topics/topics.jsonl), and the tagger's cost next to NER.

    python -m streams.nlp.evaluate_topics tests/fixtures/topics/topics.jsonl --split heldout
    python -m streams.nlp.evaluate_topics tests/fixtures/topics/topics.jsonl --cost 200

Top-1 is right when the best topic is one of the item's gold topics; top-2 when the item's primary topic is among
the two best. Scores come from streams.nlp.topics.scores(), so this measures what the pipeline ships; the
keyword-only and embedding-only variants are printed beside it to show what each part brings.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streams.nlp import models, topics


@dataclass(frozen=True)
class Item:
    id: str
    language: str
    shape: str
    split: str
    title: str
    text: str
    topics: list[str]  # IPTC codes, primary first


def load(path: Path, split: str | None = None) -> list[Item]:
    items = [Item(**json.loads(line)) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [i for i in items if split in (None, "all", i.split)]


@dataclass(frozen=True)
class Accuracy:
    n: int
    top1: float
    top2: float


def accuracy(items: Sequence[Item], score_rows: np.ndarray) -> Accuracy:
    codes = [t["code"] for t in topics.definitions()]
    top1 = top2 = 0
    for item, row in zip(items, score_rows, strict=True):
        best = [codes[i] for i in np.argsort(-row, kind="stable")[:2]]
        top1 += best[0] in item.topics
        top2 += item.topics[0] in best
    n = max(len(items), 1)
    return Accuracy(len(items), top1 / n, top2 / n)


def breakdown(items: Sequence[Item], score_rows: np.ndarray) -> dict[str, Accuracy]:
    """Accuracy overall, per language and per shape."""
    groups: dict[str, list[int]] = {"all": list(range(len(items)))}
    for key in ("language", "shape"):
        for value in sorted({getattr(item, key) for item in items}):
            name = f"{'lang' if key == 'language' else key}={value}"
            groups[name] = [i for i, item in enumerate(items) if getattr(item, key) == value]
    return {name: accuracy([items[i] for i in idx], score_rows[idx]) for name, idx in groups.items()}


def methods() -> dict[str, Callable[[list[tuple[str, str]]], np.ndarray]]:
    return {
        "keywords only": lambda pairs: topics.keyword_scores([topics.lead(t, x) for t, x in pairs]),
        "USE head only": lambda pairs: topics.scores(pairs, keyword_weight=0.0),
        f"shipped ({topics.MODEL_NAME})": topics.scores,
    }


def report(items: Sequence[Item]) -> dict[str, dict[str, Accuracy]]:
    pairs = [(i.title, i.text) for i in items]
    results = {}
    for name, score in methods().items():
        rows = score(pairs)
        rows = rows + 1e-6 * np.arange(rows.shape[1])[::-1]  # ties (no keyword hit) resolve to a fixed order
        results[name] = breakdown(items, rows)
    return results


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 1e6


def cost(items: Sequence[Item], count: int, words: int = 500, repeats: int = 3) -> dict[str, Any]:
    """ms/article of tag_many() vs en_core_web_sm NER-only nlp.pipe on the same ~500-word English articles,
    interleaved in one process (best of `repeats`), and the resident memory the encoder adds."""
    english = [f"{i.title}. {i.text}" for i in items if i.language == "en"]
    articles = []
    for start in range(count):  # consecutive English texts glued to ~`words` words, each from a new start
        parts, total, k = [], 0, start
        while total < words:
            parts.append(english[k % len(english)])
            total += len(parts[-1].split())
            k += 1
        articles.append((f"Article {start}", " ".join(" ".join(parts).split()[:words])))
    nlp = models.load("en_core_web_sm")  # as the pipeline loads it: NER only
    bodies = [f"{title}\n\n{text}" for title, text in articles]
    list(nlp.pipe(bodies[:8]))
    before = _rss_mb()
    topics.tag_many(articles[:8])  # loads the encoder and the head
    added_mb = _rss_mb() - before
    ner_s, topic_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        list(nlp.pipe(bodies, batch_size=64))
        ner_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for batch in range(0, len(articles), 64):
            topics.tag_many(articles[batch:batch + 64])
        topic_s.append(time.perf_counter() - t0)
    ner_ms, topic_ms = 1000 * min(ner_s) / count, 1000 * min(topic_s) / count
    return {"articles": count, "words": words, "ner_ms": ner_ms, "topics_ms": topic_ms,
            "ratio": topic_ms / ner_ms, "ner_plus_topics_vs_ner": ner_ms / (ner_ms + topic_ms),
            "encoder_rss_mb": added_mb}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--split", default="heldout", help="dev, heldout or all")
    parser.add_argument("--cost", type=int, metavar="N", help="instead: time N 500-word articles vs spaCy NER")
    args = parser.parse_args(argv)
    if args.cost:
        figures = cost(load(args.path), args.cost)
        print(f"{figures['articles']} articles x {figures['words']} words, same process, best of 3:")
        print(f"  en_core_web_sm NER-only nlp.pipe: {figures['ner_ms']:.2f} ms/article")
        print(f"  topics.tag_many:                  {figures['topics_ms']:.2f} ms/article "
              f"(ratio to NER {figures['ratio']:.3f}; NER+topics throughput = "
              f"{figures['ner_plus_topics_vs_ner']:.1%} of NER alone)")
        print(f"  encoder + head resident memory:   +{figures['encoder_rss_mb']:.0f} MB per process")
        return
    items = load(args.path, args.split)
    print(f"{len(items)} items, split={args.split}; top-1 / top-2 accuracy")
    for method, groups in report(items).items():
        print(f"{method}:")
        for group, acc in groups.items():
            print(f"  {group:12s} n={acc.n:3d}  top-1 {acc.top1:.3f}  top-2 {acc.top2:.3f}")


if __name__ == "__main__":
    main()
