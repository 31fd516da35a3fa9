"""Alert matching cost per article with the percolator, at 100 / 10,000 (/ 100,000) subscriptions, on OpenSearch.

    .venv/bin/python bench/alerts_matching.py                        # starts an OpenSearch 2.19 node (newsdesk's
                                                                     # engine code), 100 and 10,000 subscriptions
    .venv/bin/python bench/alerts_matching.py --sizes 100,10000,100000 --rounds 20
    .venv/bin/python bench/alerts_matching.py --es-url http://127.0.0.1:9200   # an existing node

Articles: tests/alert_corpus.py's generator (six languages, 300-600 words of text, persons, organisations,
places, topics), indexed through `ElasticsearchSink` into a fresh alias, as the index agent writes them.
Subscriptions, a mix compiled by the query language exactly as `newsdesk alerts add` stores them: 40% entity
queries (person:/org:/place:/entity:, 2% of them naming someone in the corpus), 25% topic queries with a second
condition (lang: and a word, or an entity), 35% term queries (two or three words, a phrase, an OR of words, words
with a person; nine in ten also name a word absent from the corpus, whose vocabulary is tiny), in the percolator
index `<alias>-subscriptions`. alerts/article is printed: the cost grows with the matches returned.

Per size: batches of --batch articles (the index agent's batch, NEWSDESK_SINK_BATCH_SIZE) are percolated as the
worker does (one percolate request with `documents: [...]`, enabled subscriptions only, paged); the baseline is
a plain search of the same batch in the same process (an `ids` query returning those --batch articles from the
articles index): the cheapest request the engine answers for that batch. Percolate and baseline alternate
batch by batch, after one untimed warm-up pass, so load on the shared machine falls on both. Prints ms per
article (median over the rounds) for each, the ratio, and the alerts produced per article.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.elasticsearch import SearchBackend, open_backend  # noqa: E402
from connectors.elasticsearch.index import ensure_index  # noqa: E402
from connectors.elasticsearch.percolate import (  # noqa: E402
    alerts_for,
    ensure_percolator_index,
    percolate,
    percolator_index,
    write_subscriptions,
)
from connectors.elasticsearch.query_language import compile_query  # noqa: E402
from connectors.elasticsearch.sink import ElasticsearchSink  # noqa: E402
from tests.alert_corpus import ORGS, PEOPLE, PLACES, TOPICS, WORDS, make_documents  # noqa: E402


def subscription_queries(n: int, seed: int = 3) -> list[str]:
    """A mix where most subscriptions are specific (a subscriber follows a name, a topic in a place, a few
    words), so an article alerts a few of them, not thousands: entity names are mostly the subscribers' own
    (absent from the corpus; 2% are the corpus's), topics come with a second condition (a language and a word,
    or a name), terms are two or three words or a phrase."""
    rng = random.Random(seed)
    first = ["Anna", "Marco", "Jean", "Hans", "Maria", "John", "Li", "Olga", "Pedro", "Sara"]
    last = ["Rossi", "Martin", "Müller", "García", "Smith", "Wang", "Ivanova", "Costa", "Bauer", "Dubois"]
    invented = [f"{f} {s}{i}" for i in range(max(1, n // 50)) for f in first for s in last[:5]]
    words = [w for language in WORDS.values() for w in language]
    rare = [f"{w}{i}" for i in range(max(1, n // 100)) for w in ("kalvor", "prenta", "zubrik", "omnet")]
    queries = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.40:  # an entity
            field = rng.choice(["person", "org", "place", "entity"])
            known = {"person": PEOPLE, "org": ORGS, "place": PLACES, "entity": PEOPLE + ORGS + PLACES}[field]
            name = rng.choice(known) if rng.random() < 0.02 else rng.choice(invented)
            queries.append(f'{field}:"{name}"')
        elif kind < 0.65:  # a topic, with a language and a word, or with a name
            topic = rng.choice(TOPICS)[0]
            language = rng.choice(list(WORDS))
            if rng.random() < 0.5:
                queries.append(f'topic:"{topic}" AND lang:{language} AND {rng.choice(WORDS[language])}')
            else:
                queries.append(f'topic:"{topic}" AND entity:"{rng.choice(invented)}"')
        else:  # terms; the corpus's vocabulary is tiny, so nine in ten also ask for a word it lacks (as a
            # real subscription's words are rare among the news of a day)
            style = rng.random()
            picked = rng.sample(words, 3)
            if rng.random() < 0.9:
                picked[rng.randrange(3)] = rng.choice(rare)
            if style < 0.5:
                queries.append(" ".join(picked[:rng.randint(2, 3)]))
            elif style < 0.7:
                queries.append(f'"{picked[0]} {picked[1]}"')
            elif style < 0.9:
                queries.append(f"({picked[0]} OR {picked[1]}) AND {picked[2]}")
            else:
                queries.append(f'{picked[0]} person:"{rng.choice(invented)}"')
    return queries


async def load_subscriptions(backend: SearchBackend, alias: str, queries: list[str], start: int) -> float:
    """Add subscriptions start..len(queries) to the percolator; returns seconds per 1,000 written."""
    items = []
    for i in range(start, len(queries)):
        key = f"bench/s{i:06d}"
        items.append((key, {"query": compile_query(queries[i]), "subscription": key, "owner": "bench",
                            "enabled": True, "updates": False}))
    started = time.perf_counter()
    for chunk in range(0, len(items), 2000):
        await write_subscriptions(backend, alias, items[chunk:chunk + 2000])
    return (time.perf_counter() - started) / max(1, len(items)) * 1000


async def measure(backend: SearchBackend, alias: str, batches: list[list[dict[str, Any]]],
                  rounds: int) -> tuple[list[float], list[float], int]:
    """(percolate ms/article, baseline ms/article, alerts) per round."""
    for batch in batches[:2]:  # warm-up
        await percolate(backend, alias, batch)
        await backend.search(alias, {"query": {"ids": {"values": [d["id"] for d in batch]}}, "size": len(batch)})
    perc, base = [], []
    alerts = 0
    for r in range(rounds):
        batch = batches[r % len(batches)]
        order = ("p", "b") if r % 2 == 0 else ("b", "p")
        for which in order:
            started = time.perf_counter()
            if which == "p":
                matches = await percolate(backend, alias, batch)
                perc.append((time.perf_counter() - started) * 1000 / len(batch))
                alerts += len(alerts_for(matches, batch))
            else:
                response = await backend.search(alias, {"query": {"ids": {"values": [d["id"] for d in batch]}},
                                                        "size": len(batch)})
                base.append((time.perf_counter() - started) * 1000 / len(batch))
                assert len(response["hits"]["hits"]) == len(batch)
    return perc, base, alerts


async def run(url: str, sizes: list[int], articles: int, batch_size: int, rounds: int) -> list[str]:
    backend = await open_backend(url, "auto", request_timeout=300)
    alias = f"benchalerts{int(time.time())}"
    lines = []
    try:
        info = await backend.info()
        lines.append(f"engine: {backend.engine} {info.get('version', {}).get('number', '?')}; "
                     f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                     f"cores (shared)")
        await ensure_index(backend, alias)
        documents = make_documents(articles, seed=11, text_words=(300, 600))
        sink = ElasticsearchSink(backend, alias)
        for start in range(0, len(documents), 500):
            await sink.write(documents[start:start + 500])
        await ensure_percolator_index(backend, alias)
        batches = [documents[i:i + batch_size] for i in range(0, len(documents), batch_size)]
        queries = subscription_queries(max(sizes))
        loaded = 0
        lines.append(f"{articles} articles of 300-600 words in 6 languages, batches of {batch_size}, {rounds} rounds "
                     "(median ms/article)")
        lines.append("| subscriptions | percolate ms/article | plain search of the batch ms/article | ratio | "
                     "alerts/article | load ms/1k subscriptions |")
        lines.append("|---:|---:|---:|---:|---:|---:|")
        for size in sorted(sizes):
            load_ms = await load_subscriptions(backend, alias, queries[:size], loaded)
            loaded = size
            assert await backend.count(percolator_index(alias)) == size
            perc, base, alerts = await measure(backend, alias, batches, rounds)
            p, b = statistics.median(perc), statistics.median(base)
            line = (f"| {size:,} | {p:.2f} | {b:.3f} | {p / b:.1f}x | {alerts / (rounds * batch_size):.2f} | "
                    f"{load_ms:.0f} |")
            lines.append(line)
            print(line, flush=True)
    finally:
        await backend.close()
        httpx.delete(f"{url.rstrip('/')}/{percolator_index(alias)},{alias}-0*", timeout=60)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000", help="subscription counts, comma-separated")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--es-url", help="an existing OpenSearch/Elasticsearch (default: start an embedded node)")
    parser.add_argument("--heap-mb", type=int, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    url = args.es_url
    supervisor = None
    data_dir = None
    if url is None:
        from newsdesk.engines import opensearch
        from newsdesk.settings import Settings
        from newsdesk.supervisor import Supervisor

        data_dir = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        options: dict[str, Any] = {"data_dir": data_dir, "embedded_opensearch_port": port}
        if args.heap_mb:
            options["embedded_opensearch_heap_mb"] = args.heap_mb
        settings = Settings(**options)
        supervisor = Supervisor(threading.Event())
        supervisor.start(opensearch.service(settings))
        url = settings.es_url
    try:
        lines = asyncio.run(run(url, sizes, args.articles, args.batch, args.rounds))
    finally:
        if supervisor is not None:
            supervisor.stop_all()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
