"""Indexing rate and search latency through newsdesk's search seam, OpenSearch and noida-db side by side.

    nice -n 5 .venv/bin/python bench/indexing.py     # ~11 min on 2 busy cores
        # one process starts an OpenSearch 2.19 node (newsdesk's own engine code, as `newsdesk up` does) and
        # noida-db's Elasticsearch API, both on loopback in fresh temp dirs, then 1k, 10k and 100k articles
    .venv/bin/python bench/indexing.py --sizes 1000,10000 --rounds 3 --noida-search-budget 60
    .venv/bin/python bench/indexing.py --es-url http://es:9200 --engine elasticsearch --sizes 100000
        # one existing server only (deletes and recreates the `benchart-0*` / `benchartbulk-0*` indices)

For each size, on each engine, in batches of 200: the articles are indexed through `ElasticsearchSink.write`
(external versioning, ids look-up in rolled-over indices, refresh=wait_for) and, in a separate index, through
the backend's own `bulk` with the same batches and refresh=wait_for but no versions and no look-ups (the
baseline): the ratio sink/baseline is what idempotence costs. These two run engine after engine (baseline A,
baseline B, sink A, sink B): a wait_for write waits for the index's next periodic refresh, so interleaving
other work would hide in that wait. A third measure, the same bulk with no refresh until one at the end (what
the engine can take), runs with the engines interleaved batch by batch. Above --sink-max articles, the first
ones go in through that no-refresh bulk and only the last --sink-max through the sink and the baseline.

Search: the query set (full text across languages and per language, entity filter, topic, date range,
relevance sort, the second page through a cursor) runs through `connectors.elasticsearch.search.search`, as the
CLI and API run it (a text query is two requests: the languages present, then the search). Paired: each query
runs on one engine then the other (who goes first alternates), so noise hits both; the ratio is the median of
the per-query ratios OpenSearch/noida. OpenSearch gets one untimed warm-up pass of the set first.

noida scans every document per request (~1 ms per article per query), so it runs only until it has spent
`--noida-search-budget` seconds at a size (OpenSearch still runs all `--rounds`), and sizes above
`--noida-max-size` skip noida (its predicted time per query is printed instead).
Prints tables (Markdown); writes nothing but its temp dirs, which it removes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.elasticsearch import SearchBackend, open_backend  # noqa: E402
from connectors.elasticsearch.backend import split_credentials  # noqa: E402
from connectors.elasticsearch.document import to_document  # noqa: E402
from connectors.elasticsearch.index import ensure_index, write_alias  # noqa: E402
from connectors.elasticsearch.search import SearchRequest, search  # noqa: E402
from connectors.elasticsearch.sink import ElasticsearchSink  # noqa: E402
from streams.records import AnnotatedArticle, Annotation, Article, Entity, Topic  # noqa: E402

WORDS = ("governo parlamento cooperazione militare economia mercati inflazione banca elezioni sindaco "
         "government parliament military economy markets inflation bank elections mayor football match "
         "summit minister president agreement energy climate health hospital court police").split()
PEOPLE = ["Vladimir Putin", "Xi Jinping", "Giorgia Meloni", "Emmanuel Macron", "Olaf Scholz", "Joe Biden"]
PLACES = ["Roma", "Milano", "Mosca", "Pechino", "Berlin", "Paris", "London", "Madrid"]
TOPICS = [("politics", "medtop:11000000"), ("economy, business and finance", "medtop:04000000"),
          ("sport", "medtop:15000000")]
BASE = datetime(2026, 1, 1, tzinfo=UTC)  # article i is published i minutes after this
LIVE_SINK = False  # --live-sink: the sink as the worker builds it (no refresh wait)
# (label, request); "page 2" is run with the cursor its first page returned (fetched untimed, per engine).
QUERIES: list[tuple[str, SearchRequest]] = [
    ("text, all languages", SearchRequest("cooperazione militare")),
    ("text, en", SearchRequest("inflation markets", language="en")),
    ("text, it", SearchRequest("governo elezioni", language="it")),
    ("text + entity", SearchRequest("governo", entity="Giorgia Meloni")),
    ("topic only", SearchRequest("", topic="sport", limit=20)),
    ("date range", SearchRequest("", since="2026-01-01T06:00:00Z", until="2026-01-01T12:00:00Z", limit=20)),
    ("relevance sort", SearchRequest("elezioni sindaco", sort="relevance")),
    ("page 2", SearchRequest("parlamento")),
]


def make_documents(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    documents = []
    for i in range(n):
        language = rng.choice(["it", "en"])
        text = " ".join(rng.choice(WORDS) for _ in range(500))
        published = BASE + timedelta(minutes=i)
        article = Article(id=f"bench-{i:07d}", url=f"https://bench.example/{i}", title=" ".join(rng.sample(WORDS, 8)),
                          summary=text[:200], text=text, fetched_at=published, published_at=published,
                          feed_url="https://bench.example/feed.xml", feed_title="Bench", content_hash=str(i),
                          version=1)
        entities = [Entity(key=f"PER:{p.lower()}", name=p, type="PER", mentions=2, first_offset=0)
                    for p in rng.sample(PEOPLE, 2)]
        entities += [Entity(key=f"LOC:{p.lower()}", name=p, type="LOC", mentions=1, first_offset=10)
                     for p in rng.sample(PLACES, 2)]
        name, code = rng.choice(TOPICS)
        annotation = Annotation(id=article.id, language=language, language_score=0.99, entities=entities,
                                topics=[Topic(name=name, code=code, score=0.6)])
        documents.append(to_document(AnnotatedArticle(article=article, annotation=annotation,
                                                      annotated_at=published)))
    return documents


# -- engines ------------------------------------------------------------------------------------------------------

@dataclass
class Target:
    name: str  # "opensearch" | "noida" | the engine of --es-url
    url: str
    backend: SearchBackend
    version: str = ""
    max_size: int | None = None  # larger sizes are skipped on this target
    search_budget_s: float | None = None  # per size
    indexing: dict[int, dict[str, float]] = field(default_factory=dict)  # size -> {"bulk": docs/s, "sink": ...}
    timings: dict[int, list[float]] = field(default_factory=dict)  # size -> search seconds
    ms_per_doc: float | None = None


class Engines:
    """The OpenSearch node (newsdesk's engine code under a Supervisor, as `newsdesk up` runs it) and noida-db."""

    def __init__(self, heap_mb: int | None, with_opensearch: bool, with_noida: bool) -> None:
        from newsdesk.processes import Child
        from newsdesk.settings import Settings
        from newsdesk.supervisor import Supervisor

        self.dirs: list[Path] = []
        self.supervisor = Supervisor(threading.Event())
        self.noida: Child | None = None
        self.opensearch_url = self.noida_url = ""
        if with_opensearch:
            from newsdesk.engines import opensearch

            data_dir = self._tempdir("bench-opensearch-")
            options: dict[str, Any] = {"data_dir": data_dir, "embedded_opensearch_port": free_port()}
            if heap_mb:
                options["embedded_opensearch_heap_mb"] = heap_mb
            settings = Settings(**options)
            self.heap_mb = settings.embedded_opensearch_heap_mb
            started = time.perf_counter()
            self.supervisor.start(opensearch.service(settings))
            self.opensearch_start_s = time.perf_counter() - started
            self.opensearch_url = settings.es_url
        if with_noida:
            data_dir = self._tempdir("bench-noida-")
            port = free_port()
            # the binary itself, not the `noida-db` console script: that wrapper runs it with subprocess.call and
            # dies on SIGTERM without passing it on, leaving the binary running with no parent
            binary = str(files("noida_db").joinpath("noida-db"))
            self.noida = Child("noida-db", [binary, "start", "--data-dir",
                                            str(data_dir), "--host", "127.0.0.1", "--only", "elasticsearch",
                                            "--elasticsearch-port", str(port)], log_path=data_dir / "noida.log")
            self.noida.start()
            self.noida_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(self.noida_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or not self.noida.running():
                    raise RuntimeError("noida-db's Elasticsearch API did not start")
                time.sleep(0.3)

    def _tempdir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self.dirs.append(path)
        return path

    def stop(self) -> None:
        if self.noida:
            self.noida.stop(60)
        self.supervisor.stop_all()
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- index housekeeping (plain REST: the seam has no delete, and needs none) ----------------------------------------

async def drop(target: Target, alias: str) -> None:
    """Delete `<alias>-0*` by name (real clusters refuse wildcard deletes: action.destructive_requires_name)."""
    url, auth = split_credentials(target.url)
    async with httpx.AsyncClient(base_url=url.rstrip("/"), auth=auth, timeout=300) as client:
        answer = await client.get(f"/{alias}-0*", params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        answer.raise_for_status()
        for name in answer.json():
            (await client.delete(f"/{name}")).raise_for_status()


async def reset(target: Target, alias: str) -> None:
    await drop(target, alias)
    await ensure_index(target.backend, alias)


# -- indexing -----------------------------------------------------------------------------------------------------

async def bulk_batch(target: Target, alias: str, documents: list[dict[str, Any]], *, wait: bool) -> float:
    """The plain baseline: one bulk of the batch to the write alias, no versions, no look-ups; refresh=wait_for
    like the sink (wait), or none (the index is refreshed once at the end, see `interleaved`)."""
    operations: list[dict[str, Any]] = []
    for doc in documents:
        operations += [{"index": {"_index": write_alias(alias), "_id": doc["id"]}}, doc]
    start = time.perf_counter()
    response = await target.backend.bulk(operations, refresh="wait_for" if wait else None)
    elapsed = time.perf_counter() - start
    assert not response.get("errors"), next(item for item in response["items"] if item["index"].get("error"))
    return elapsed


async def interleaved(targets: list[Target], documents: list[dict[str, Any]], batch: int,
                      measures: dict[str, tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Batch by batch, every measure on every target in turn, so machine noise falls on all of them alike.
    measures: {name: (kind, alias)}, kind "sink" | "wait" | "nowait"; returns {target: {name: docs/s}}.
    A "nowait" index is refreshed at the end, inside its time."""
    sinks = {(t.name, alias): ElasticsearchSink(t.backend, alias, wait_for_refresh=not LIVE_SINK) for t in targets
             for kind, alias in measures.values() if kind == "sink"}
    spent = {t.name: dict.fromkeys(measures, 0.0) for t in targets}
    for i in range(0, len(documents), batch):
        chunk = documents[i:i + batch]
        for target in targets[::1 if (i // batch) % 2 == 0 else -1]:
            for name, (kind, alias) in measures.items():
                if kind == "sink":
                    start = time.perf_counter()
                    result = await sinks[target.name, alias].write(chunk)
                    spent[target.name][name] += time.perf_counter() - start
                    assert not result.rejected, result.rejected[:1]
                else:
                    spent[target.name][name] += await bulk_batch(target, alias, chunk, wait=kind == "wait")
    for target in targets:
        for name, (kind, alias) in measures.items():
            if kind == "nowait":
                start = time.perf_counter()
                await target.backend.refresh(alias)
                spent[target.name][name] += time.perf_counter() - start
    return {t.name: {name: len(documents) / seconds for name, seconds in spent[t.name].items()} for t in targets}


async def sequential(target: Target, alias: str, documents: list[dict[str, Any]], batch: int, kind: str) -> float:
    """docs/s of one pass on one engine, batch after batch: "sink" or "wait" (bulk with refresh=wait_for)."""
    sink = ElasticsearchSink(target.backend, alias, wait_for_refresh=not LIVE_SINK)
    spent = 0.0
    for i in range(0, len(documents), batch):
        chunk = documents[i:i + batch]
        if kind == "sink":
            start = time.perf_counter()
            result = await sink.write(chunk)
            spent += time.perf_counter() - start
            assert not result.rejected, result.rejected[:1]
        else:
            spent += await bulk_batch(target, alias, chunk, wait=True)
    return len(documents) / spent


async def index_all(targets: list[Target], alias: str, documents: list[dict[str, Any]], batch: int,
                    repeats: int, sink_max: int) -> None:
    """Per repeat: the bulk without refresh (what the engine can take), engines interleaved batch by batch; then
    the plain bulk with refresh=wait_for on each engine, then the sink on each.

    The two refresh=wait_for measures cannot be interleaved: a write there waits for the index's next periodic
    refresh (1 s on OpenSearch), so work slipped in between would hide inside that wait. Above `sink_max`
    articles, the first ones go in through the bulk without refresh (that is its rate there) and only the last
    `sink_max` through the sink (into the full index) and the wait_for bulk (into an empty one). The sink's
    index of the last repeat stays, for the searches."""
    size = len(documents)
    tail = min(size, sink_max)
    head, rest = documents[:size - tail], documents[size - tail:]
    rates: dict[str, dict[str, list[float]]] = {t.name: {"wait": [], "nowait": [], "sink": [], "ratio": []}
                                                for t in targets}
    for _ in range(repeats):
        raw_alias = alias if head else f"{alias}raw"
        for target in targets:
            await reset(target, raw_alias)
        raw = await interleaved(targets, head or documents, batch, {"nowait": ("nowait", raw_alias)})
        for target in targets:
            rates[target.name]["nowait"].append(raw[target.name]["nowait"])
            if not head:
                await drop(target, raw_alias)  # noida holds (and rewrites) all it has: no needless copy
        waited = {}
        for target in targets:
            await reset(target, f"{alias}bulk")
            waited[target.name] = await sequential(target, f"{alias}bulk", rest, batch, "wait")
            await drop(target, f"{alias}bulk")
        for target in targets:
            if not head:
                await reset(target, alias)
            sunk = await sequential(target, alias, rest, batch, "sink")
            mine = rates[target.name]
            mine["wait"].append(waited[target.name])
            mine["sink"].append(sunk)
            mine["ratio"].append(sunk / waited[target.name])
    for target in targets:
        await target.backend.refresh(alias)
        count = await target.backend.count(alias)
        assert count == size, f"{target.name}: {count} documents behind {alias}, expected {size}"
        mine = rates[target.name]
        target.indexing[size] = {key: statistics.median(values) for key, values in mine.items()}
        print(f"  {target.name:<10} {size:>7} articles, docs/s per repeat: bulk wait_for "
              + ", ".join(f"{r:.0f}" for r in mine["wait"]) + "; sink " + ", ".join(f"{r:.0f}" for r in mine["sink"])
              + "; bulk, refresh at end " + ", ".join(f"{r:.0f}" for r in mine["nowait"])
              + (f" (the first {len(head):,}; sink and bulk wait_for: the last {tail:,})" if head else ""), flush=True)


# -- search -------------------------------------------------------------------------------------------------------

async def first_page_cursors(target: Target, alias: str) -> dict[str, SearchRequest]:
    """The query set as run on `target`: "page 2" carries the cursor of its first page there."""
    prepared = {}
    for label, request in QUERIES:
        if label == "page 2":
            page = await search(target.backend, alias, request)
            assert page.next_cursor, f"{target.name}: no second page for {request}"
            request = replace(request, after=page.next_cursor)
        prepared[label] = request
    return prepared


async def timed_search(target: Target, alias: str, request: SearchRequest) -> float:
    start = time.perf_counter()
    await search(target.backend, alias, request)
    return time.perf_counter() - start


async def search_paired(targets: list[Target], alias: str, size: int, rounds: int) -> list[float]:
    """Every target runs `rounds` passes of the query set, query by query in turn (first one alternating); a
    target with a time budget stops when it has spent it. Returns the per-query ratios first/second target."""
    prepared = {t.name: await first_page_cursors(t, alias) for t in targets}
    for target in targets:
        if target.search_budget_s is None:  # warm-up: the first queries after indexing load structures
            for request in prepared[target.name].values():
                await search(target.backend, alias, request)
        target.timings[size] = []
    spent = {t.name: 0.0 for t in targets}
    ratios: list[float] = []
    turn = 0
    for _ in range(rounds):
        for label, _request in QUERIES:
            active = [t for t in targets if t.search_budget_s is None or spent[t.name] < t.search_budget_s]
            if turn % 2:
                active.reverse()
            turn += 1
            took: dict[str, float] = {}
            for target in active:
                took[target.name] = await timed_search(target, alias, prepared[target.name][label])
                spent[target.name] += took[target.name]
                target.timings[size].append(took[target.name])
            if len(targets) == 2 and len(took) == 2:
                ratios.append(took[targets[0].name] / took[targets[1].name])
    return ratios


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: with fewer than 100 values, p99 is the slowest."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))]


# -- main ---------------------------------------------------------------------------------------------------------

def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def run(args: argparse.Namespace, engines: Engines | None) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    targets: list[Target] = []
    pair_ratios: dict[int, list[float]] = {}  # size -> per-query ratios first/second target
    if engines is None:
        backend = await open_backend(args.es_url, args.engine, request_timeout=600)
        targets.append(Target(backend.engine, args.es_url, backend))
    else:
        if engines.opensearch_url:
            targets.append(Target("opensearch", engines.opensearch_url,
                                  await open_backend(engines.opensearch_url, "opensearch", request_timeout=600)))
        if engines.noida_url:
            targets.append(Target("noida", engines.noida_url,
                                  await open_backend(engines.noida_url, "elasticsearch", request_timeout=600),
                                  max_size=args.noida_max_size, search_budget_s=args.noida_search_budget))
    try:
        for target in targets:
            info = await target.backend.info()
            v = info.get("version", {})
            target.version = f"{v.get('distribution', 'elasticsearch')} {v.get('number', '?')}"
        print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores, load {load()}; Python "
              f"{platform.python_version()}, opensearch-py {version('opensearch-py')}, elasticsearch-py "
              f"{version('elasticsearch')}, noida-db {version('noida-db')}")
        for target in targets:
            print(f"# {target.name}: answers as {target.version}"
                  + (f"; JVM heap {engines.heap_mb} MiB, ready {engines.opensearch_start_s:.1f} s after start"
                     if engines and target.name == "opensearch" else ""))
        print(f"# batches of {args.batch}, indexing repeats {args.index_repeats} while size x repeats <= 10,000, "
              f"at most {args.sink_max:,} articles through the sink per size, "
              f"search rounds {args.rounds} x {len(QUERIES)} queries", flush=True)

        for size in sizes:
            started = time.perf_counter()
            documents = make_documents(size)
            print(f"\n## {size:,} articles (generated in {time.perf_counter() - started:.0f} s; load {load()})",
                  flush=True)
            active = []
            for target in targets:
                if target.max_size is not None and size > target.max_size:
                    predicted = f"~{target.ms_per_doc * size / 1000:.0f} s per query" if target.ms_per_doc else "?"
                    print(f"  {target.name}: skipped above {target.max_size:,} articles (--noida-max-size): it scans "
                          f"every document per request; measured {target.ms_per_doc or 0:.2f} ms per article per "
                          f"query at the largest size run, so {predicted} here (predicted, not measured)")
                else:
                    active.append(target)
            repeats = max(1, min(args.index_repeats, 10_000 // size))
            await index_all(active, args.fresh_index, documents, args.batch, repeats, args.sink_max)
            del documents
            ratios = await search_paired(active, args.fresh_index, size, args.rounds)
            for target in active:
                timings = target.timings[size]
                target.ms_per_doc = statistics.median(timings) * 1000 / size
                print(f"  {target.name:<10} search: {len(timings)} queries, p50 {statistics.median(timings) * 1000:.1f}"
                      f" ms, p99 {percentile(timings, 0.99) * 1000:.1f} ms", flush=True)
            if ratios:
                print(f"  paired ratio {active[0].name}/{active[1].name}: median {statistics.median(ratios):.3g} over "
                      f"{len(ratios)} pairs (range {min(ratios):.3g}-{max(ratios):.3g})")
                pair_ratios[size] = ratios
            for target in active:
                await drop(target, args.fresh_index)
            print(f"  size done in {time.perf_counter() - started:.0f} s; load {load()}", flush=True)

        report(targets, sizes, pair_ratios)
    finally:
        for target in targets:
            await target.backend.close()


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + " ---: |" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def report(targets: list[Target], sizes: list[int], pair_ratios: dict[int, list[float]]) -> None:
    print(f"\n# summary ({datetime.now(UTC):%H:%M} UTC, load {load()})")
    pair = targets if len(targets) == 2 else []
    both = f"{pair[0].name}/{pair[1].name}" if pair else ""

    print("\nindexing, docs/s (median of the repeats)")
    header = ["articles"]
    for t in targets:
        header += [f"{t.name} bulk wait_for", f"{t.name} bulk, refresh at end", f"{t.name} sink",
                   f"{t.name} sink / bulk wait_for"]
    if pair:
        header += [f"sink {both}", f"bulk, refresh at end {both}"]
    rows = []
    for size in sizes:
        row = [f"{size:,}"]
        for t in targets:
            i = t.indexing.get(size)
            row += ([f"{i['wait']:,.0f}", f"{i['nowait']:,.0f}", f"{i['sink']:,.0f}", f"{i['ratio']:.2f}"] if i
                    else ["skipped", "", "", ""])
        if pair:
            a, b = (t.indexing.get(size) for t in pair)
            row += ([f"{a['sink'] / b['sink']:.2f}", f"{a['nowait'] / b['nowait']:.2f}"] if a and b else ["", ""])
        rows.append(row)
    table(header, rows)

    print("\nsearch, ms per search() call (nearest-rank p99: with < 100 queries, the slowest)")
    header = ["articles"]
    for t in targets:
        header += [f"{t.name} p50", f"{t.name} p99", f"{t.name} queries"]
    if pair:
        header += [f"p50 {both}", f"p99 {both}", f"paired median {both}"]
    rows = []
    for size in sizes:
        row = [f"{size:,}"]
        for t in targets:
            timings = t.timings.get(size)
            row += ([f"{statistics.median(timings) * 1000:,.1f}", f"{percentile(timings, 0.99) * 1000:,.1f}",
                     str(len(timings))] if timings else ["skipped", "", ""])
        if pair:
            ta, tb = (t.timings.get(size) for t in pair)
            row += ([f"{statistics.median(ta) / statistics.median(tb):.3g}",
                     f"{percentile(ta, 0.99) / percentile(tb, 0.99):.3g}",
                     f"{statistics.median(pair_ratios[size]):.3g} ({len(pair_ratios[size])} pairs)"]
                    if ta and tb and size in pair_ratios else ["", "", ""])
        rows.append(row)
    table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", help="an existing Elasticsearch or OpenSearch (default: start OpenSearch + noida)")
    parser.add_argument("--engine", choices=["auto", "elasticsearch", "opensearch"], default="auto",
                        help="the client for --es-url (auto: from the server's root answer)")
    parser.add_argument("--only", choices=["opensearch", "noida"], help="start only this engine")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated article counts")
    parser.add_argument("--batch", type=int, default=200, help="documents per bulk (the sink's batch in the worker)")
    parser.add_argument("--index-repeats", type=int, default=3,
                        help="indexing passes per engine (median), fewer where size x repeats > 10,000")
    parser.add_argument("--sink-max", type=int, default=10_000,
                        help="articles through the sink per size (the last ones; those before: bulk without wait)")
    parser.add_argument("--rounds", type=int, default=5, help="passes of the query set per size")
    parser.add_argument("--noida-search-budget", type=float, default=150.0,
                        help="seconds of noida search per size; its queries stop there (paired until then)")
    parser.add_argument("--noida-max-size", type=int, default=10_000, help="larger sizes skip noida")
    parser.add_argument("--opensearch-heap-mb", type=int, help="default: newsdesk's setting")
    parser.add_argument("--live-sink", action="store_true",
                        help="the sink as the worker builds it: no wait for a refresh (compare with the bulk "
                             "refreshed at the end)")
    parser.add_argument("--fresh-index", default="benchart", help="alias prefix (its -0* indices are deleted!)")
    args = parser.parse_args()
    global LIVE_SINK
    LIVE_SINK = args.live_sink

    engines = None
    if not args.es_url:
        engines = Engines(args.opensearch_heap_mb, with_opensearch=args.only != "noida",
                          with_noida=args.only != "opensearch")
    try:
        asyncio.run(run(args, engines))
    finally:
        if engines:
            engines.stop()


if __name__ == "__main__":
    main()
