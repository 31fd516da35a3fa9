"""CPU per article of spaCy's NER and of the topic step by part size: what NEWSDESK_NLP_PART_SIZE trades.

    .venv/bin/python bench/part_size.py [--language it] [--rounds 8] [--sizes 8 16 32 64]

The pool deals each batch to its processes in parts; each part is one `nlp.pipe` call inside one memory zone and
one batched topic-encoder call. This times both on the same synthetic articles as bench/pipeline_throughput.py,
64 articles per round cut into parts of each size, the sizes' order rotated round by round (this VM's speed
drifts within minutes), as process CPU time in one process with one BLAS thread (as in a pool worker), after the
tokenizer has been taught as in a running worker. Prints ms per article and the ratio to parts of 32 (the part
size before session 7). Results belong in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_throughput import make_articles  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from newsdesk.settings import DEFAULT_MODELS  # noqa: E402
from streams.nlp import models, topics  # noqa: E402
from streams.nlp.annotate import Annotator, Document  # noqa: E402
from streams.nlp.tokenizer_cache import CHECKPOINTS  # noqa: E402

ROUND = 64
REFERENCE = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--language", default="en", choices=["en", "it"])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    args = parser.parse_args()
    threadpool_limits(limits=1)
    sizes = sorted(set(args.sizes) | {REFERENCE})

    specs = dict(DEFAULT_MODELS)
    nlp = models.load(models.spec_for(args.language, specs))
    warm_up = make_articles(CHECKPOINTS[0], 500, seed=8, prefix="warm-up", language=args.language)
    Annotator(specs).annotate([Document(a.id, a.title, a.text, a.feed_language) for a in warm_up])
    documents = [Document(a.id, a.title, a.text, a.feed_language)
                 for a in make_articles(ROUND * args.rounds, 500, seed=7, language=args.language)]

    def ner(part: list[Document]) -> None:
        with nlp.memory_zone():
            for _ in nlp.pipe([d.body for d in part]):
                pass

    def topic_step(part: list[Document]) -> None:
        topics.tag_many([(d.title, d.text) for d in part])

    steps: dict[str, Callable[[list[Document]], None]] = {"NER": ner, "topics": topic_step}
    print(f"{ROUND * args.rounds} synthetic ~500-word articles, language {args.language}, "
          f"model {models.spec_for(args.language, specs)}; process CPU time per article")
    for name, step in steps.items():
        cpu: dict[int, list[float]] = {size: [] for size in sizes}
        for number in range(args.rounds):
            chunk = documents[number * ROUND:(number + 1) * ROUND]
            shift = number % len(sizes)
            for size in sizes[shift:] + sizes[:shift]:
                began = time.process_time()
                for start in range(0, ROUND, size):
                    step(chunk[start:start + size])
                cpu[size].append(time.process_time() - began)
        for size in sizes:
            total = sum(cpu[size])
            per_round = statistics.median(a / b for a, b in zip(cpu[size], cpu[REFERENCE], strict=True))
            print(f"  {name:6s} parts of {size:3d}: {total / len(documents) * 1000:6.2f} ms/article; "
                  f"/ parts of {REFERENCE}: {total / sum(cpu[REFERENCE]):.3f} (median per round {per_round:.3f})")


if __name__ == "__main__":
    main()
