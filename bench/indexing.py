"""Indexing throughput of the sink vs a plain helpers.bulk, and search latency, on the same documents.

    python bench/indexing.py                       # starts its own noida-db, 1k and 5k articles
    python bench/indexing.py --es-url http://es:9200 --sizes 100000 --fresh-index bench-articles
                                                   # a real Elasticsearch: index 100k, then measure search

The sink does more than a bulk call (an ids look-up behind the read alias per batch, external versioning,
refresh=wait_for) so that re-delivery never duplicates; the ratio shows what that costs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.helpers import bulk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.elasticsearch.document import to_document  # noqa: E402
from connectors.elasticsearch.index import ensure_index  # noqa: E402
from connectors.elasticsearch.search import SearchRequest, search  # noqa: E402
from connectors.elasticsearch.sink import ElasticsearchSink  # noqa: E402
from streams.records import AnnotatedArticle, Annotation, Article, Entity, Topic  # noqa: E402

WORDS = ("governo parlamento cooperazione militare economia mercati inflazione banca elezioni sindaco "
         "government parliament military economy markets inflation bank elections mayor football match "
         "summit minister president agreement energy climate health hospital court police").split()
PEOPLE = ["Vladimir Putin", "Xi Jinping", "Giorgia Meloni", "Emmanuel Macron", "Olaf Scholz", "Joe Biden"]
PLACES = ["Roma", "Milano", "Mosca", "Pechino", "Berlin", "Paris", "London", "Madrid"]
QUERIES = [SearchRequest("cooperazione militare"), SearchRequest("inflation markets", language="en"),
           SearchRequest("governo", entity="Giorgia Meloni"), SearchRequest("", topic="politics", limit=20),
           SearchRequest("elezioni sindaco", sort="relevance")]


def make_documents(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    documents = []
    for i in range(n):
        language = rng.choice(["it", "en"])
        text = " ".join(rng.choice(WORDS) for _ in range(500))
        published = base + timedelta(minutes=i)
        article = Article(id=f"bench-{i:07d}", url=f"https://bench.example/{i}", title=" ".join(rng.sample(WORDS, 8)),
                          summary=text[:200], text=text, fetched_at=published, published_at=published,
                          feed_url="https://bench.example/feed.xml", feed_title="Bench", content_hash=str(i),
                          version=1)
        entities = [Entity(key=f"PER:{p.lower()}", name=p, type="PER", mentions=2, first_offset=0)
                    for p in rng.sample(PEOPLE, 2)]
        entities += [Entity(key=f"LOC:{p.lower()}", name=p, type="LOC", mentions=1, first_offset=10)
                     for p in rng.sample(PLACES, 2)]
        annotation = Annotation(id=article.id, language=language, language_score=0.99, entities=entities,
                                topics=[Topic(name="politics", code="medtop:11000000", score=0.6)])
        documents.append(to_document(AnnotatedArticle(article=article, annotation=annotation,
                                                      annotated_at=published)))
    return documents


def drop(es: Elasticsearch, alias: str) -> None:
    # by name: real clusters refuse wildcard deletes (action.destructive_requires_name)
    for name in es.indices.get(index=f"{alias}-0*", ignore_unavailable=True, allow_no_indices=True):
        es.indices.delete(index=name)


def reset(es: Elasticsearch, alias: str) -> None:
    drop(es, alias)
    ensure_index(es, alias)


def time_plain_bulk(es: Elasticsearch, alias: str, documents: list[dict[str, Any]], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(documents), batch):
        bulk(es, ({"_index": f"{alias}-write", "_id": d["id"], "_source": d} for d in documents[i:i + batch]),
             refresh="wait_for")
    return time.perf_counter() - start


def time_sink(url: str, alias: str, documents: list[dict[str, Any]], batch: int) -> float:
    async def run() -> float:
        async with AsyncElasticsearch(url, request_timeout=120) as es:
            sink = ElasticsearchSink(es, alias)
            start = time.perf_counter()
            for i in range(0, len(documents), batch):
                result = await sink.write(documents[i:i + batch])
                assert not result.rejected, result.rejected[:1]
            return time.perf_counter() - start

    return asyncio.run(run())


def search_latency(es: Elasticsearch, alias: str, rounds: int) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        for request in QUERIES:
            start = time.perf_counter()
            search(es, alias, request)
            timings.append(time.perf_counter() - start)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", help="a running Elasticsearch (default: start a noida-db)")
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated article counts")
    parser.add_argument("--batch", type=int, default=200, help="documents per bulk (the sink's default)")
    parser.add_argument("--fresh-index", default="benchart", help="alias/index prefix used (deleted first!)")
    parser.add_argument("--search-rounds", type=int, default=10)
    args = parser.parse_args()

    child = None
    url = args.es_url
    if not url:
        from newsdesk.bootstrap import wait_for_port
        from newsdesk.embedded import noida_child
        from newsdesk.settings import Settings
        from tests.integration.conftest import free_port

        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-indexing-")),
                            embedded_kafka_port=free_port(), embedded_elasticsearch_port=free_port())
        child = noida_child(settings)
        child.start()
        wait_for_port("127.0.0.1", settings.embedded_elasticsearch_port, 30)
        url = settings.es_url
    alias = args.fresh_index
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, elasticsearch {url}, batch {args.batch}")
    try:
        with Elasticsearch(url, request_timeout=300) as es:
            engine = es.info()["version"]
            print(f"# engine: {engine.get('number')} {engine.get('build_hash', '')}")
            for size in (int(s) for s in args.sizes.split(",")):
                documents = make_documents(size)
                reset(es, alias)
                plain = time_plain_bulk(es, alias, documents, args.batch)
                reset(es, alias)
                sink = time_sink(url, alias, documents, args.batch)
                es.indices.refresh(index=alias)
                assert es.count(index=alias)["count"] == size
                p50, p99 = search_latency(es, alias, args.search_rounds)
                print(f"{size:>7} articles | helpers.bulk {size / plain:8.1f} docs/s | sink {size / sink:8.1f} docs/s"
                      f" | ratio {plain / sink:5.2f} | search p50 {p50 * 1000:7.1f} ms p99 {p99 * 1000:7.1f} ms"
                      f" ({p50 * 1000 / size:.3f} ms/doc)")
            drop(es, alias)
    finally:
        if child:
            child.stop(120)


if __name__ == "__main__":
    main()
