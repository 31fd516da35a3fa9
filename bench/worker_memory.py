"""Memory of a running worker over 20,000 annotated articles: it must stay flat.

    .venv/bin/python bench/worker_memory.py --articles 20000

1. Starts `newsdesk up` (embedded Kafka and OpenSearch JVMs, stages poll + annotate, fresh data dir) as
   bench/pipeline_throughput.py does, and warms it up.
2. Produces the articles in chunks (default 1,000) and, after each chunk is annotated, samples the resident memory
   (RSS) of the Faust worker and of each annotation process. Every article carries made-up names never seen
   before (random syllables), the worst case for spaCy's string store, which grows without `nlp.memory_zone()`.
3. Baseline in the same run: one process running spaCy's nlp.pipe over the same texts *without* memory_zone, its
   RSS sampled at the same points: the growth a long-running worker would show without it.
4. Prints RSS per checkpoint and the growth from the first checkpoint to the last, for both.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from kafka import KafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsing import cpu_model  # noqa: E402  (bench/ is on sys.path when a bench script runs)
from pipeline_throughput import (  # noqa: E402
    Pipeline,
    TopicCounter,
    _role,
    await_articles,
    body,
    counts,
    make_articles,
    produce,
)

from streams.records import Article  # noqa: E402

MIB = 1024 * 1024
SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "dor", "sel", "tu", "bri", "zan", "quo", "fel", "gru", "pim", "ost",
             "yar", "nek", "ju", "wa", "thi"]


def novel_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 5))).capitalize()


def with_novel_names(articles: list[Article], seed: int) -> list[Article]:
    """Add a sentence of never-seen names to each article (new strings for the vocabulary every time)."""
    rng = random.Random(seed)
    out = []
    for article in articles:
        sentence = (f" {novel_word(rng)} {novel_word(rng)} of {novel_word(rng)} Holdings met {novel_word(rng)} "
                    f"{novel_word(rng)} in {novel_word(rng)}ville on Tuesday.")
        out.append(article.model_copy(update={"text": article.text + sentence}))
    return out


def pipeline_rss(pid: int) -> dict[str, list[int]]:
    """RSS in bytes of the worker and of each annotation process, by role."""
    found: dict[str, list[int]] = {}
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            role = _role(process)
            if role == "nlp pool" and "resource_tracker" in " ".join(process.cmdline()):
                continue
            found.setdefault(role, []).append(process.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return found


def baseline_rss(texts: list[str], chunk: int, spec: str, queue: Any) -> None:
    """In a child process: nlp.pipe without memory_zone, RSS after each chunk."""
    from streams.nlp import models

    nlp = models.load(spec)
    me = psutil.Process()
    for start in range(0, len(texts), chunk):
        for _ in nlp.pipe(texts[start:start + chunk], batch_size=64):
            pass
        queue.put(me.memory_info().rss)
    queue.put(None)


def growth(values: list[int]) -> str:
    first, last = values[0], values[-1]
    return f"{first / MIB:.0f} -> {last / MIB:.0f} MiB ({(last - first) / MIB:+.0f} MiB, x{last / first:.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=1000, help="articles between two memory samples")
    parser.add_argument("--words", type=int, default=150, help="words per article (default 150)")
    parser.add_argument("--nlp-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also run nlp.pipe without memory_zone over the same texts (default on)")
    args = parser.parse_args(argv)

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    articles = with_novel_names(make_articles(args.articles, args.words, args.seed, prefix="memory"), args.seed)
    warmup = with_novel_names(make_articles(50, args.words, args.seed + 1, prefix="warmup"), args.seed + 1)
    data_dir = Path(tempfile.mkdtemp(prefix="newsdesk-memory-"))
    pipeline = Pipeline(data_dir, args.nlp_workers, indexing=False)
    samples: list[tuple[int, dict[str, list[int]]]] = []
    started = time.monotonic()
    try:
        pipeline.start()
        pipeline.wait_ready(timeout_s=180)
        assert pipeline.process is not None
        producer = KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all", linger_ms=5,
                                 max_request_size=16 * 1024 * 1024)
        counter = TopicCounter(pipeline.bootstrap)
        base = counts(pipeline, counter)
        produce(producer, warmup)
        await_articles(pipeline, counter, base, len(warmup), time.monotonic(), 300, progress=False)
        samples.append((0, pipeline_rss(pipeline.process.pid)))
        for start in range(0, len(articles), args.chunk):
            part = articles[start:start + args.chunk]
            base = counts(pipeline, counter)
            produce(producer, part)
            await_articles(pipeline, counter, base, len(part), time.monotonic(), 1800, progress=False)
            done = start + len(part)
            samples.append((done, pipeline_rss(pipeline.process.pid)))
            sample = samples[-1][1]
            print(f"{done:6d} articles ({time.monotonic() - started:5.0f}s): worker "
                  f"{sum(sample.get('faust worker', [0])) / MIB:.0f} MiB, annotation processes "
                  f"{', '.join(f'{v / MIB:.0f}' for v in sample.get('nlp pool', []))} MiB, kafka JVM "
                  f"{sum(sample.get('kafka JVM', [0])) / MIB:.0f} MiB", flush=True)
        producer.close(timeout=10)
        counter.close()
    finally:
        if pipeline.process is not None:
            code, seconds = pipeline.stop(timeout_s=300)
            print(f"pipeline stopped: exit {code} after {seconds:.1f}s", flush=True)
        shutil.rmtree(data_dir, ignore_errors=True)

    baseline: list[int] = []
    if args.baseline:
        from newsdesk.settings import DEFAULT_MODELS
        from streams.nlp.models import spec_for

        print("baseline: nlp.pipe without memory_zone, one process, same texts", flush=True)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=baseline_rss, args=([body(a) for a in articles], args.chunk,
                                                           spec_for("en", dict(DEFAULT_MODELS)), queue))
        child.start()
        while (value := queue.get()) is not None:
            baseline.append(value)
        child.join()

    print("\n----- summary -----")
    print(f"date:      {date}")
    print(f"machine:   {os.cpu_count()} cores, {cpu_model()}")
    print(f"workload:  {args.articles} articles x ~{args.words} words + a sentence of never-seen names each; "
          f"samples every {args.chunk}; NEWSDESK_NLP_WORKERS={args.nlp_workers}; stages poll, annotate")
    first = samples[1][1]  # after the first chunk (as the baseline's first sample): models loaded, caches warm
    last = samples[-1][1]
    print(f"faust worker RSS:            {growth([sum(first['faust worker']), sum(last['faust worker'])])}")
    for index, (a, b) in enumerate(zip(first.get("nlp pool", []), last.get("nlp pool", []), strict=False)):
        print(f"annotation process {index + 1} RSS:    {growth([a, b])}")
    peak = max(max(s.get("nlp pool", [0])) for _, s in samples)
    print(f"annotation process peak RSS: {peak / MIB:.0f} MiB")
    if baseline:
        print(f"baseline nlp.pipe without memory_zone: {growth([baseline[0], baseline[-1]])}")
    print("-------------------")
    return 0


if __name__ == "__main__":
    sys.exit(main())
