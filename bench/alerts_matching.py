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
worker does (`percolate()`: one percolate request with `documents: [...]` over the distinct stored queries, then a
lookup of their enabled subscribers, each paged); the baseline is
a plain search of the same batch in the same process (an `ids` query returning those --batch articles from the
articles index): the cheapest request the engine answers for that batch. Percolate and baseline alternate
batch by batch, after one untimed warm-up pass, so load on the shared machine falls on both. Prints ms per
article (median over the rounds) for each, the ratio, and the alerts produced per article.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import os
import platform
import random
import re
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
    percolate_body,
    percolator_index,
    write_subscriptions,
)
from connectors.elasticsearch.query_language import compile_query, entity_name_key  # noqa: E402
from connectors.elasticsearch.sink import ElasticsearchSink  # noqa: E402
from tests.alert_corpus import (  # noqa: E402
    ORGS,
    PEOPLE,
    PLACES,
    REAL_TOPICS,
    TOPICS,
    WORDS,
    make_documents,
    make_real_documents,
    real_sentences,
)


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


def _zipf(rng: random.Random, n: int, s: float = 1.0) -> int:
    """A rank in 0..n-1, P(rank) ~ 1 / (rank + 1)**s (inverse CDF on cached cumulative weights)."""
    key = (n, s)
    if key not in _CUMULATIVE:
        total, cumulative = 0.0, []
        for rank in range(n):
            total += 1 / (rank + 1) ** s
            cumulative.append(total)
        _CUMULATIVE[key] = cumulative
    cumulative = _CUMULATIVE[key]
    return min(n - 1, bisect.bisect_left(cumulative, rng.random() * cumulative[-1]))


_CUMULATIVE: dict[tuple[int, float], list[float]] = {}
_WORD = re.compile(r"^[^\W\d_]{4,}$")


def real_vocabulary() -> tuple[dict[str, list[str]], list[str], list[tuple[str, str]]]:
    """From the real-text corpus: per language, its content words by frequency (the 300 commonest, function
    words mostly, left out; 4 letters or more); the gold entity names by frequency, as (type, surface); and
    per language its commonest adjacent content-word pairs, for phrases."""
    words: dict[str, collections.Counter[str]] = {}
    pairs: dict[str, collections.Counter[str]] = {}
    names: collections.Counter[tuple[str, str]] = collections.Counter()
    for language, documents in real_sentences().items():
        counter = words.setdefault(language, collections.Counter())
        for sentences in documents:
            for sentence, found in sentences:
                counter.update(w.lower() for w in re.findall(r"[^\W_]+", sentence))
                names.update((t, n) for t, n in found if t in ("PER", "ORG", "LOC"))
    content = {}
    for language, counter in words.items():
        common = {w for w, _ in counter.most_common(300)}
        content[language] = [w for w, _ in counter.most_common() if w not in common and _WORD.match(w)]
        kept = set(content[language])
        bigrams = pairs.setdefault(language, collections.Counter())
        for sentences in real_sentences()[language]:
            for sentence, _ in sentences:
                tokens = [w.lower() for w in re.findall(r"[^\W_]+", sentence)]
                bigrams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)
                               if a in kept and b in kept)
    phrases = [(language, p) for language, counter in pairs.items() for p, c in counter.most_common() if c > 1]
    return content, [n for n, _ in names.most_common()], phrases


MAX_SHARE = 0.05  # realistic mix: nothing in more than this share of the articles is followed


def too_common(documents: list[dict[str, Any]], share: float = MAX_SHARE) -> tuple[set[str], set[str]]:
    """The entity keys and the words found in more than `share` of the documents."""
    keys: collections.Counter[str] = collections.Counter()
    words: collections.Counter[str] = collections.Counter()
    for document in documents:
        keys.update(set(document.get("entity_keys") or []))
        words.update({w.lower() for w in re.findall(r"[^\W_]+", f"{document.get('title')} {document.get('text')}")})
    limit = share * len(documents)
    return {k for k, c in keys.items() if c > limit}, {w for w, c in words.items() if c > limit}


def real_subscription_queries(n: int, seed: int = 5, mix: str = "realistic",
                              documents: list[dict[str, Any]] | None = None, max_share: float = MAX_SHARE) -> list[str]:
    """A realistic mix over the real-text corpus (what people follow is long-tailed: a few names and words are
    followed by many, most by few; and much of what they follow is not in the day's news):
    40% entities: person:/org:/place: (or entity:) a name drawn Zipf-like (s=1) from 4,000 names, the corpus's
        1,400-odd gold names by frequency interleaved with names absent from it (ranks 1, 3, 5... are the
        corpus's while they last);
    20% topics (of 40 topics, long-tailed). mix "realistic" (default): a topic narrowed as alert subscribers
        narrow it, 45% with an entity (`topic:"x" AND place:"y"`, the name drawn as above), 45% with one or two
        words (half also with lang:), 10% topic-only (half with lang:). mix "broad" (session 9): every one
        topic-only, half with lang:, so at 10,000 some 450 identical `topic:"politics"` subscriptions each
        match a large share of all articles: a feed, not an alert (the alerts/article column shows it);
    40% terms: 1-3 words drawn Zipf-like (s=1) from a 40,000-word vocabulary per language (the corpus's
        content words by frequency, then words it lacks); 15% a phrase (a real adjacent pair), 10% (a OR b) AND c,
        10% a word AND NOT another, the rest plain words (implicit AND).
    In the realistic mix, given the measured `documents`, no name, word or phrase found in more than 5% of them
    is followed (left out of the lists above): this corpus is one domain (parliament debates, mostly), and its
    articles are built of sentences from many documents (some 30 names each), so "Commission" is in most of them;
    a name or word in 1 article of 20 is already among the commonest of a day's real news, and hundreds of
    subscribers to a word that is in half the news would each get half the news as alerts."""
    rng = random.Random(seed)
    content, corpus_names, phrases = real_vocabulary()
    if mix == "realistic" and documents:
        common_keys, common_words = too_common(documents, max_share)
        content = {language: [w for w in words if w not in common_words] for language, words in content.items()}
        corpus_names = [(t, name) for t, name in corpus_names
                        if f"{t}:{entity_name_key(name)}" not in common_keys]
        phrases = [(language, p) for language, p in phrases if not set(p.split()) <= common_words]
    vocabulary_size = 40_000
    vocabulary = {language: words + [f"{language}absent{i}" for i in range(vocabulary_size - len(words))]
                  for language, words in content.items()}
    names: list[tuple[str, str]] = []
    absent = (("PER", f"Anna Verdi{i}") if i % 3 == 0 else ("ORG", f"Acme{i} Holding") if i % 3 == 1
              else ("LOC", f"Villa{i}") for i in range(10**6))
    for rank in range(4000):
        if rank % 2 == 0 and rank // 2 < len(corpus_names):
            names.append(corpus_names[rank // 2])
        else:
            names.append(next(absent))
    field_of = {"PER": "person", "ORG": "org", "LOC": "place"}
    languages = sorted(vocabulary)

    def word(language: str) -> str:
        return vocabulary[language][_zipf(rng, vocabulary_size)]

    queries = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.40:
            etype, name = names[_zipf(rng, len(names))]
            field = "entity" if rng.random() < 0.2 else field_of[etype]
            queries.append(f'{field}:"{name}"')
        elif kind < 0.60:
            topic = f'topic:"{REAL_TOPICS[_zipf(rng, len(REAL_TOPICS))]}"'
            narrow = rng.random() if mix == "realistic" else 1.0
            if narrow < 0.45:
                etype, name = names[_zipf(rng, len(names))]
                queries.append(f'{topic} AND {field_of[etype]}:"{name}"')
            elif narrow < 0.90:
                language = rng.choice(languages)
                words = " ".join(word(language) for _ in range(rng.choice((1, 2))))
                queries.append(f"{topic} AND {words}" + (f" AND lang:{language}" if rng.random() < 0.5 else ""))
            else:
                queries.append(topic + (f" AND lang:{rng.choice(languages)}" if rng.random() < 0.5 else ""))
        else:
            language = rng.choice(languages)
            style = rng.random()
            if style < 0.15:
                queries.append(f'"{phrases[_zipf(rng, len(phrases))][1]}"')
            elif style < 0.25:
                queries.append(f"({word(language)} OR {word(language)}) AND {word(language)}")
            elif style < 0.35:
                queries.append(f"{word(language)} AND NOT {word(language)}")
            else:
                queries.append(" ".join(word(language) for _ in range(rng.choice((1, 2, 2, 3)))))
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


def kind_of(query: str) -> str:
    if query.startswith(("person:", "org:", "place:", "entity:")):
        return "entity"
    return "topic" if query.startswith("topic:") else "term"


async def measure(backend: SearchBackend, alias: str, batches: list[list[dict[str, Any]]],
                  rounds: int, kinds: dict[str, str]) -> tuple[list[float], list[float], collections.Counter[str]]:
    """(percolate ms/article, baseline ms/article) per round, and the alerts by kind of subscription."""
    for batch in batches[:2]:  # warm-up
        await percolate(backend, alias, batch)
        await backend.search(alias, {"query": {"ids": {"values": [d["id"] for d in batch]}}, "size": len(batch)})
    perc, base = [], []
    alerts: collections.Counter[str] = collections.Counter()
    for r in range(rounds):
        batch = batches[r % len(batches)]
        order = ("p", "b") if r % 2 == 0 else ("b", "p")
        for which in order:
            started = time.perf_counter()
            if which == "p":
                matches = await percolate(backend, alias, batch)
                perc.append((time.perf_counter() - started) * 1000 / len(batch))
                alerts.update(kinds.get(a.subscription, "?") for a in alerts_for(matches, batch))
            else:
                response = await backend.search(alias, {"query": {"ids": {"values": [d["id"] for d in batch]}},
                                                        "size": len(batch)})
                base.append((time.perf_counter() - started) * 1000 / len(batch))
                assert len(response["hits"]["hits"]) == len(batch)
    return perc, base, alerts


async def run(url: str, sizes: list[int], articles: int, batch_size: int, rounds: int, corpus: str,
              profile: bool, mix: str = "realistic", max_share: float = MAX_SHARE) -> list[str]:
    backend = await open_backend(url, "auto", request_timeout=300)
    alias = f"benchalerts{int(time.time())}"
    lines = []
    try:
        info = await backend.info()
        lines.append(f"engine: {backend.engine} {info.get('version', {}).get('number', '?')}; "
                     f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                     f"cores (shared)")
        await ensure_index(backend, alias)
        documents = (make_real_documents(articles, seed=11, text_words=(300, 600)) if corpus == "real"
                     else make_documents(articles, seed=11, text_words=(300, 600)))
        sink = ElasticsearchSink(backend, alias)
        for start in range(0, len(documents), 500):
            await sink.write(documents[start:start + 500])
        await ensure_percolator_index(backend, alias)
        batches = [documents[i:i + batch_size] for i in range(0, len(documents), batch_size)]
        queries = (real_subscription_queries(max(sizes), mix=mix, documents=documents, max_share=max_share)
                   if corpus == "real" else subscription_queries(max(sizes)))
        loaded = 0
        described = (f"real sentences, it/en; {mix} mix" + (f", max share {max_share}" if mix == "realistic" else "")
                     if corpus == "real" else "generated, 6 languages")
        lines.append(f"{articles} articles of 300-600 words ({corpus} corpus: {described}), "
                     f"batches of {batch_size}, {rounds} rounds (median ms/article)")
        lines.append("| subscriptions | percolate ms/article | x the smallest size | plain search of the batch "
                     "ms/article | percolate / plain search | alerts/article | of which entity / topic / term | "
                     "load ms/1k subscriptions |")
        lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        first: float | None = None
        for size in sorted(sizes):
            load_ms = await load_subscriptions(backend, alias, queries[:size], loaded)
            loaded = size
            assert await backend.count(percolator_index(alias), {"term": {"kind": "subscription"}}) == size
            distinct = await backend.count(percolator_index(alias), {"term": {"kind": "query"}})
            kinds = {f"bench/s{i:06d}": kind_of(q) for i, q in enumerate(queries[:size])}
            perc, base, alerts = await measure(backend, alias, batches, rounds, kinds)
            p, b = statistics.median(perc), statistics.median(base)
            per = rounds * batch_size
            by_kind = " / ".join(f"{alerts[k] / per:.1f}" for k in ("entity", "topic", "term"))
            first = first or p  # the smallest size, measured in this process: the baseline of the ratio
            line = (f"| {size:,} ({distinct:,} distinct queries) | {p:.2f} | {p / first:.2f}x | {b:.3f} | "
                    f"{p / b:.1f}x | {alerts.total() / per:.2f} | {by_kind} | {load_ms:.0f} |")
            lines.append(line)
            print(line, flush=True)
        if profile:
            lines += await profile_requests(backend, alias, batches, rounds)
    finally:
        await backend.close()
        httpx.delete(f"{url.rstrip('/')}/{percolator_index(alias)},{alias}-0*", timeout=60)
    return lines


async def profile_requests(backend: SearchBackend, alias: str, batches: list[list[dict[str, Any]]],
                           rounds: int) -> list[str]:
    """Variants of the percolate request on the same batches, interleaved round by round: ms/article (median)
    measured by the client, and the engine's own `took`."""
    index = percolator_index(alias)

    def body(documents: list[dict[str, Any]], **change: Any) -> dict[str, Any]:
        result = percolate_body(documents, size=change.pop("size", 10_000))
        if change.pop("nested", False):  # the documents as session 9 sent them: nested entities and topics in
            sent = [{k: v for k, v in d.items() if k not in ("text", "content_html", "link", "enclosures")}
                    for d in documents]
            result["query"]["bool"]["filter"][0]["percolate"]["documents"] = sent
        result.update(change)
        return result

    variants: dict[str, Any] = {
        "as shipped (percolate(): percolate the stored queries, then look their subscribers up)": None,
        "the percolate request alone": {},
        "the percolate request alone, nested entities/topics sent (as in session 9)": {"nested": True},
        "the percolate request alone, no sort": {"sort": ["_doc"]},
        "query phase only: size 0": {"size": 0},
    }
    client: dict[str, list[float]] = {name: [] for name in variants}
    took: dict[str, list[float]] = {name: [] for name in variants}
    split: dict[int, list[float]] = {}
    for r in range(rounds):
        batch = batches[r % len(batches)]
        names = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in names:
            started = time.perf_counter()
            if variants[name] is None:
                await percolate(backend, alias, batch)
            else:
                response = await backend.search(index, body(batch, **variants[name]))
                took[name].append(response.get("took", 0) / len(batch))
            client[name].append((time.perf_counter() - started) * 1000 / len(batch))
        for part in (50, 100):
            started = time.perf_counter()
            for i in range(0, len(batch), part):
                await percolate(backend, alias, batch[i:i + part])
            split.setdefault(part, []).append((time.perf_counter() - started) * 1000 / len(batch))
    lines = ["", "profile at the largest size (ms/article, median):", "| request | client | engine took |",
             "|---|---:|---:|"]
    for name in variants:
        engine = f"{statistics.median(took[name]):.2f}" if took[name] else "-"
        lines.append(f"| {name} | {statistics.median(client[name]):.2f} | {engine} |")
    for part, values in split.items():
        lines.append(f"| percolate() in requests of {part} documents | {statistics.median(values):.2f} | - |")
    print("\n".join(lines), flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000", help="subscription counts, comma-separated")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--es-url", help="an existing OpenSearch/Elasticsearch (default: start an embedded node)")
    parser.add_argument("--heap-mb", type=int, default=None)
    parser.add_argument("--corpus", choices=("real", "synthetic"), default="real",
                        help="real: articles of real sentences (tests/fixtures/ner-real) and a long-tailed mix of "
                             "subscriptions (default); synthetic: the old generated corpus and mix")
    parser.add_argument("--mix", choices=("realistic", "broad"), default="realistic",
                        help="the real corpus's subscription mix: realistic (topics narrowed by an entity or words, "
                             "1 in 10 topic-only; default) or broad (session 9: every topic subscription topic-only)")
    parser.add_argument("--max-share", type=float, default=MAX_SHARE,
                        help="realistic mix: names, words and phrases in more than this share of the articles are "
                             "not followed (default 0.05)")
    parser.add_argument("--profile", action="store_true",
                        help="after the largest size, time variants of the percolate request (where the time goes)")
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
        lines = asyncio.run(run(url, sizes, args.articles, args.batch, args.rounds, args.corpus, args.profile,
                                   args.mix, args.max_share))
    finally:
        if supervisor is not None:
            supervisor.stop_all()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
