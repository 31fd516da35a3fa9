"""Soak: hours of a steady, realistic feed load, to see whether memory, open files and consumer lag stay flat.

    .venv/bin/python bench/soak.py [--hours 2] [--feeds 300] [--sample-s 60] [--seed 18]

Short benchmarks and the chaos tests cannot show a slow leak or a lag that creeps up: only a long run at a
steady load can, which is what this script is for (issue 18).

1. A local feed server (a thread on 127.0.0.1) serves --feeds RSS 2.0 feeds at /feed/<n>.xml, ~20 items each,
   half in English and half in Italian (bench/pipeline_throughput.py's synthetic articles: real NER work). Every
   ROUND_S some feeds gain items (the oldest fall off) and some items get a new version (new title and text:
   an updated article), all drawn from --seed. It answers conditional GETs (ETag / Last-Modified -> 304) as real
   feeds do, and a small share of requests answer 500 or hang past the fetcher's timeout, so the error paths
   run too (the request order is the poller's, so which requests fail is not reproducible; the rates are).
2. `newsdesk up` starts as a user starts it (embedded Kafka and OpenSearch JVMs, every stage, 2 NLP workers),
   with polling bounds that bring each feed back every 60-120 s, and the feeds go in with `feeds import`.
3. Every --sample-s: resident memory and open fds per role (summed over a role's processes), the consumer lag
   per topic from `newsdesk status --json` (and how long status took), the articles in the alias, and the
   warning / error lines `up` logged since the last sample. A line is printed and the CSV rewritten each time.
4. After --hours the feeds stop changing and stop failing, and the script waits for the pipeline to catch up:
   every item the server ever published must be indexed exactly once, in its latest version. The expected id
   of an item is computed with the poller's own function (connectors.rss.canonical.article_id(link, guid)), so
   the check does not depend on what the index stores besides the id and the title.
5. Summary: memory per role after the WARMUP_S warm-up, its max and its end, and the least-squares slope
   (MiB/hour) over the samples after the warm-up; open files; lag max and end; errors by logger and event;
   the consistency check.
6. A JVM's resident memory grows while its heap expands toward -Xmx, leak or not, so the JVMs are also read
   from the inside (`jstat -gc`): old-generation use at every sample, and the live heap after a forced full
   collection (`jcmd <pid> GC.run`) once at the end of the warm-up and once at the end of the soak. A live heap
   that grows between those two is a leak; resident memory that grows with a flat live heap is heap fill.
   The work dir (up's log, the CSV) is kept; the engines' data is deleted.

The machine is shared: a slope is only meaningful over the run's length, and a few MiB/hour is noise on a JVM.
Results go to docs/reliability.md ("Soak").
"""

from __future__ import annotations

import argparse
import csv
import email.utils
import hashlib
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from outages import processes_by_role  # noqa: E402  (bench/ is on sys.path when a bench script runs)
from parsing import cpu_model  # noqa: E402
from pipeline_throughput import Pipeline, make_articles, wait_until  # noqa: E402

from connectors.rss.canonical import article_id  # noqa: E402
from tests.integration.conftest import free_port  # noqa: E402

MIB = 1024 * 1024
ITEMS = 20
WORDS = 140
ROUND_S = 180.0  # a news site publishes every few minutes, not every poll
GAIN_SHARE = 0.08  # feeds that gain 1-3 items per round
UPDATE_SHARE = 0.05  # feeds that revise one of their items per round
FAIL_SHARE = 0.02  # requests answered 500
HANG_SHARE = 0.003  # requests that hang past the fetcher's 20 s timeout
HANG_S = 25.0
WARMUP_S = 300.0
DRAIN_TIMEOUT_S = 900.0
ROLES = ("newsdesk up", "newsdesk api", "faust worker", "nlp pool", "kafka JVM", "opensearch JVM")
JVM_ROLES = tuple(role for role in ROLES if role.endswith("JVM"))
LEVELS = {"warning", "error", "critical", "exception"}


# -- the feed server ---------------------------------------------------------------------------------------


@dataclass
class Item:
    number: int
    version: int
    published: datetime


@dataclass
class Feed:
    number: int
    language: str
    items: list[Item] = field(default_factory=list)
    next_item: int = 0
    changed: datetime = field(default_factory=lambda: datetime.now(UTC))
    body: bytes | None = None
    etag: str = ""


class FeedSite:
    """The feeds' state and history. Every version an item ever had is remembered (its latest is what the index
    owes); the rendered body is cached until the feed changes, as a CMS's cache would."""

    def __init__(self, feeds: int, seed: int, base: str) -> None:
        self.rng = random.Random(seed)
        self.seed, self.base = seed, base
        self.lock = threading.Lock()
        self.feeds = [Feed(n, "en" if n % 2 == 0 else "it") for n in range(feeds)]
        self.published: dict[tuple[int, int], int] = {}  # (feed, item) -> latest version
        self.failing = True
        self.stats: Counter[str] = Counter()
        now = datetime.now(UTC)
        for feed in self.feeds:
            for back in range(ITEMS, 0, -1):
                self._add(feed, now - timedelta(hours=back))
            self._render(feed, now)

    def link(self, feed: int, item: int) -> str:
        return f"{self.base}/article/{feed}/{item}"

    @staticmethod
    def guid(feed: int, item: int) -> str:
        return f"soak-{feed}-{item}"

    def content(self, feed: Feed, item: int, version: int) -> tuple[str, str]:
        """Title and text of one version: a seed of its own, so any version can be regenerated at the end."""
        seed = int(hashlib.blake2b(f"{self.seed}/{feed.number}/{item}/{version}".encode(), digest_size=6).hexdigest(),
                   16)
        article = make_articles(1, WORDS, seed=seed, prefix=f"soak{feed.number}", language=feed.language)[0]
        return article.title, article.text

    def _add(self, feed: Feed, when: datetime) -> None:
        feed.items.append(Item(feed.next_item, 0, when))
        self.published[(feed.number, feed.next_item)] = 0
        feed.next_item += 1
        del feed.items[:-ITEMS]

    def _render(self, feed: Feed, now: datetime) -> None:
        entries = []
        for item in reversed(feed.items):
            title, text = self.content(feed, item.number, item.version)
            html = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in text.split("\n\n"))
            entries.append(
                f"<item><title>{escape(title)}</title><link>{self.link(feed.number, item.number)}</link>"
                f"<guid isPermaLink=\"false\">{self.guid(feed.number, item.number)}</guid>"
                f"<pubDate>{email.utils.format_datetime(item.published)}</pubDate>"
                f"<description>{escape(html)}</description></item>")
        feed.body = (
            f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
            f"<title>Soak {feed.number}</title><link>{self.base}/</link><description>Soak feed</description>"
            f"<language>{feed.language}</language><lastBuildDate>{email.utils.format_datetime(now)}</lastBuildDate>"
            + "".join(entries) + "</channel></rss>").encode()
        feed.etag = '"' + hashlib.blake2b(feed.body, digest_size=8).hexdigest() + '"'
        feed.changed = now.replace(microsecond=0)

    def round(self) -> tuple[int, int]:
        """One round of news: (items added, items revised)."""
        added = revised = 0
        now = datetime.now(UTC)
        with self.lock:
            for feed in self.feeds:
                dirty = False
                if self.rng.random() < GAIN_SHARE:
                    for _ in range(self.rng.randint(1, 3)):
                        self._add(feed, now)
                        added += 1
                    dirty = True
                if self.rng.random() < UPDATE_SHARE:
                    item = self.rng.choice(feed.items)
                    item.version += 1
                    self.published[(feed.number, item.number)] = item.version
                    revised += 1
                    dirty = True
                if dirty:
                    self._render(feed, now)
        return added, revised

    def expected(self) -> dict[str, str]:
        """Article id -> the title of the item's latest version, for every item ever published."""
        with self.lock:
            return {article_id(self.link(f, i), self.guid(f, i)): self.content(self.feeds[f], i, v)[0]
                    for (f, i), v in self.published.items()}


def make_handler(site: FeedSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the stdlib's signature)
            pass

        def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
            match = re.fullmatch(r"/feed/(\d+)\.xml", self.path)
            if not match or int(match.group(1)) >= len(site.feeds):
                self._send(404, b"not found", "text/plain")
                return
            with site.lock:
                roll = site.rng.random() if site.failing else 1.0
                feed = site.feeds[int(match.group(1))]
                body, etag, changed = feed.body or b"", feed.etag, feed.changed
            if roll < HANG_SHARE:
                site.stats["hang"] += 1
                time.sleep(HANG_S)  # the fetcher gave up meanwhile; what follows goes nowhere
                self.close_connection = True
                return
            if roll < HANG_SHARE + FAIL_SHARE:
                site.stats["500"] += 1
                self._send(500, b"internal error", "text/plain")
                return
            since = self.headers.get("If-Modified-Since")
            fresh = self.headers.get("If-None-Match") == etag
            if not fresh and since and self.headers.get("If-None-Match") is None:
                try:
                    fresh = email.utils.parsedate_to_datetime(since) >= changed
                except (TypeError, ValueError):
                    fresh = False
            headers = {"ETag": etag, "Last-Modified": email.utils.format_datetime(changed, usegmt=True)}
            if fresh:
                site.stats["304"] += 1
                self._send(304, b"", None, headers)
                return
            site.stats["200"] += 1
            self._send(200, body, "application/rss+xml; charset=utf-8", headers)

        def _send(self, status: int, body: bytes, kind: str | None, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if kind:
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)) if status != 304 else "0")
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
            except OSError:
                self.close_connection = True

    return Handler


class Newsroom(threading.Thread):
    """Publishes a round of news every ROUND_S until stopped."""

    def __init__(self, site: FeedSite) -> None:
        super().__init__(daemon=True)
        self.site = site
        self.halt = threading.Event()
        self.added = self.revised = 0

    def run(self) -> None:
        while not self.halt.wait(ROUND_S):
            added, revised = self.site.round()
            self.added += added
            self.revised += revised


# -- sampling ----------------------------------------------------------------------------------------------


def by_role(pipeline: Pipeline) -> tuple[dict[str, float], dict[str, int], dict[str, tuple[int, ...]]]:
    """Resident MiB, open fds and pids per role: a changed pid set means `up` restarted something."""
    memory: dict[str, float] = {}
    fds: dict[str, int] = {}
    pids: dict[str, tuple[int, ...]] = {}
    for role, processes in processes_by_role(pipeline).items():
        rss = files = 0
        for process in processes:
            try:
                rss += process.memory_info().rss
                files += process.num_fds()
            except psutil.Error:
                continue
        memory[role], fds[role] = rss / MIB, files
        pids[role] = tuple(sorted(p.pid for p in processes))
    return memory, fds, pids


def jvm_heap_mib(pid: int, collect: bool = False) -> tuple[float, float] | None:
    """(heap used, old generation used) in MiB from `jstat -gc`, after a full collection when `collect`."""
    try:
        if collect:
            subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, timeout=60, check=True)
        result = subprocess.run(["jstat", "-gc", str(pid)], capture_output=True, text=True, timeout=60, check=True)
        header, values = result.stdout.split("\n")[:2]
        gc = {name: float(value) for name, value in zip(header.split(), values.split(), strict=False)
              if value != "-"}  # a column the collector in use does not have
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    used_kib = gc["S0U"] + gc["S1U"] + gc["EU"] + gc["OU"]
    return used_kib / 1024, gc["OU"] / 1024


def jvm_heaps(pipeline: Pipeline, collect: bool = False) -> dict[str, tuple[float, float]]:
    heaps: dict[str, tuple[float, float]] = {}
    for role, processes in processes_by_role(pipeline).items():
        if role.endswith("JVM") and processes and (heap := jvm_heap_mib(processes[0].pid, collect)):
            heaps[role] = heap
    return heaps


def status(pipeline: Pipeline) -> tuple[dict[str, int], float, str]:
    """Lag per topic from `newsdesk status --json`, the seconds the command took, and an error if any."""
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "newsdesk.cli", "status", "--json"], env=pipeline.env,
                                capture_output=True, text=True, timeout=120)
        report = json.loads(result.stdout)
    except (subprocess.TimeoutExpired, ValueError) as exc:
        return {}, time.monotonic() - started, type(exc).__name__
    lag = report.get("lag", {})
    topics = {topic: int(entry["lag"]) for topic, entry in lag.get("topics", {}).items()}
    return topics, time.monotonic() - started, str(lag.get("error") or "")


class LogReader:
    """Counts `up`'s warning and error lines since the last call, by logger and the start of the event."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.rest = path, 0, b""
        self.total: Counter[str] = Counter()

    def read(self) -> int:
        if not self.path.exists():
            return 0
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            data = self.rest + log.read()
            self.offset = log.tell()
        *lines, self.rest = data.split(b"\n")
        found = 0
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if str(entry.get("level", "")).lower() in LEVELS:
                found += 1
                self.total[f"{entry.get('logger', '?')}: {event_key(str(entry.get('event', '')))}"] += 1
        return found


def event_key(event: str) -> str:
    """An event without what varies (URLs, numbers), so the same problem counts as one."""
    event = re.sub(r"https?://\S+", "<url>", event)
    event = re.sub(r"\d+(\.\d+)?", "N", event)
    return event[:80]


@dataclass
class Sample:
    elapsed_s: float
    memory: dict[str, float]
    fds: dict[str, int]
    lag: dict[str, int]
    status_s: float
    indexed: int | None
    warnings: int
    note: str = ""
    old_gen: dict[str, float] = field(default_factory=dict)


def write_csv(path: Path, samples: list[Sample], topics: list[str]) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["elapsed_s", *(f"rss_mib {r}" for r in ROLES), *(f"fds {r}" for r in ROLES),
                         *(f"lag {t}" for t in topics), "status_s", "indexed", "warnings_errors", "note",
                         *(f"old_gen_mib {r}" for r in JVM_ROLES)])
        for s in samples:
            writer.writerow([f"{s.elapsed_s:.0f}", *(f"{s.memory.get(r, 0):.1f}" for r in ROLES),
                             *(s.fds.get(r, "") for r in ROLES), *(s.lag.get(t, "") for t in topics),
                             f"{s.status_s:.1f}", s.indexed if s.indexed is not None else "", s.warnings, s.note,
                             *(f"{s.old_gen[r]:.1f}" if r in s.old_gen else "" for r in JVM_ROLES)])


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MiB), in MiB per hour."""
    if len(points) < 3:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * 3600


# -- consistency -------------------------------------------------------------------------------------------


def indexed_titles(pipeline: Pipeline) -> dict[str, list[str]]:
    """Every document behind the alias: id -> its titles (one per index holding it, so duplicates show)."""
    httpx.post(f"{pipeline.search_url}/{pipeline.alias}/_refresh", timeout=60).raise_for_status()
    found: dict[str, list[str]] = {}
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": 1000, "_source": ["title"], "sort": [{"id": "asc"}, {"_index": "asc"}]}
        if after:
            body["search_after"] = after
        hits = httpx.post(f"{pipeline.search_url}/{pipeline.alias}/_search", json=body,
                          timeout=120).json()["hits"]["hits"]
        if not hits:
            return found
        for hit in hits:
            found.setdefault(hit["_id"], []).append(str(hit["_source"].get("title") or ""))
        after = hits[-1]["sort"]


@dataclass
class Consistency:
    expected: int
    missing: int
    duplicated: int
    stale: int
    unexpected: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.stale or self.unexpected)


def check(pipeline: Pipeline, site: FeedSite) -> Consistency:
    def plain(text: str) -> str:
        return " ".join(text.split())

    expected = site.expected()
    indexed = indexed_titles(pipeline)
    return Consistency(
        expected=len(expected),
        missing=sum(1 for i in expected if i not in indexed),
        duplicated=sum(1 for titles in indexed.values() if len(titles) > 1),
        stale=sum(1 for i, title in expected.items() if i in indexed and
                  any(plain(t) != plain(title) for t in indexed[i])),
        unexpected=sum(1 for i in indexed if i not in expected))


# -- the run -----------------------------------------------------------------------------------------------


def opml(site: FeedSite, path: Path) -> None:
    outlines = "".join(f'<outline type="rss" text="Soak {f.number}" xmlUrl="{site.base}/feed/{f.number}.xml"/>'
                       for f in site.feeds)
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><head><title>soak</title></head>'
                    f"<body>{outlines}</body></opml>")


def summary(samples: list[Sample], topics: list[str], warmup_s: float) -> str:
    settled = [s for s in samples if s.elapsed_s >= warmup_s] or samples
    lines = ["| process | RSS after warm-up (MiB) | max (MiB) | end (MiB) | slope (MiB/h) | open fds start -> end |",
             "|---|---:|---:|---:|---:|---:|"]
    for role in ROLES:
        if not any(role in s.memory for s in settled):
            continue
        slope = slope_per_hour([(s.elapsed_s, s.memory[role]) for s in settled if role in s.memory])
        lines.append(f"| {role} | {settled[0].memory.get(role, 0):.0f} | "
                     f"{max(s.memory.get(role, 0) for s in settled):.0f} | {settled[-1].memory.get(role, 0):.0f} | "
                     f"{'?' if slope is None else f'{slope:+.1f}'} | "
                     f"{settled[0].fds.get(role, '?')} -> {settled[-1].fds.get(role, '?')} |")
    lines += ["", "| topic | lag max after warm-up | lag end |", "|---|---:|---:|"]
    for topic in topics:
        values = [s.lag[topic] for s in settled if topic in s.lag]
        if values:
            lines.append(f"| {topic} | {max(values)} | {values[-1]} |")
    status_times = sorted(s.status_s for s in samples)
    lines.append(f"\n`status --json` took {status_times[len(status_times) // 2]:.1f} s (median), "
                 f"{status_times[-1]:.1f} s (max)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    print(f"# bench/soak.py --hours {args.hours} --feeds {args.feeds} --sample-s {args.sample_s} --seed {args.seed}: "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu_model()}), "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="newsdesk-soak-"))
    port = free_port()
    site = FeedSite(args.feeds, args.seed, f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(site))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    newsroom = Newsroom(site)
    pipeline = Pipeline(work / "data", nlp_workers=2, indexing=True, extra_env={
        "NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "1", "NEWSDESK_POLL_INTERVAL_S": "90",
        "NEWSDESK_POLL_MIN_INTERVAL_S": "60", "NEWSDESK_POLL_MAX_INTERVAL_S": "120", "NEWSDESK_LOG_FORMAT": "json",
        "NEWSDESK_METRICS_PORT": str(free_port())})  # off the shared default port, so /metrics runs too
    pipeline.log_path = work / "up.log"
    csv_path = work / "soak.csv"
    samples: list[Sample] = []
    topics: list[str] = []
    try:
        pipeline.start()
        print(f"ready in {pipeline.wait_ready(900):.0f} s; log and CSV in {work}", flush=True)
        opml(site, work / "feeds.opml")
        subprocess.run([sys.executable, "-m", "newsdesk.cli", "feeds", "import", str(work / "feeds.opml")],
                       env=pipeline.env, check=True, capture_output=True, timeout=300)
        print(f"{args.feeds} feeds imported, {len(site.published)} items published", flush=True)
        newsroom.start()
        logs = LogReader(pipeline.log_path)
        logs.read()  # start-up's lines are not the soak's
        started = time.monotonic()
        pids_seen: dict[str, tuple[int, ...]] = {}
        live_at_warmup: dict[str, tuple[float, float]] | None = None
        restarts: Counter[str] = Counter()
        while (elapsed := time.monotonic() - started) < args.hours * 3600:
            if not pipeline.alive():
                print("`newsdesk up` exited", flush=True)
                break
            memory, fds, pids = by_role(pipeline)
            notes = []
            for role, ids in pids.items():
                if role in pids_seen and pids_seen[role] != ids:
                    restarts[role] += 1
                    notes.append(f"{role} pids changed")
                pids_seen[role] = ids
            lag, status_s, error = status(pipeline)
            if error:
                notes.append(f"status: {error[:60]}")
            topics += [t for t in lag if t not in topics]
            indexed: int | None = None
            try:
                indexed = pipeline.es_count()
            except Exception as exc:  # an engine down is one of the states sampled
                notes.append(f"count: {type(exc).__name__}")
            if live_at_warmup is None and elapsed >= WARMUP_S:
                live_at_warmup = jvm_heaps(pipeline, collect=True)
                print("live heap after a full GC, end of warm-up (MiB): " + ", ".join(
                    f"{role} {used:.0f}" for role, (used, _) in live_at_warmup.items()), flush=True)
            old_gen = {role: old for role, (_, old) in jvm_heaps(pipeline).items()}
            sample = Sample(elapsed, memory, fds, lag, status_s, indexed, logs.read(), "; ".join(notes), old_gen)
            samples.append(sample)
            write_csv(csv_path, samples, topics)
            print(f"{elapsed / 60:5.1f} min: indexed {indexed}, lag {sum(lag.values()) if lag else '?'} "
                  f"({', '.join(f'{t} {n}' for t, n in lag.items())}; status {status_s:.1f} s), warn/err "
                  f"{sample.warnings}, RSS MiB " + ", ".join(f"{r} {memory[r]:.0f}" for r in ROLES if r in memory)
                  + ", fds " + ", ".join(f"{r} {fds[r]}" for r in ROLES if r in fds)
                  + ", old gen MiB " + ", ".join(f"{r} {v:.0f}" for r, v in old_gen.items())
                  + (f" [{sample.note}]" if sample.note else ""), flush=True)
            time.sleep(max(0.0, args.sample_s - (time.monotonic() - started) % args.sample_s))
        soak_s = time.monotonic() - started
        live_at_end = jvm_heaps(pipeline, collect=True)
        newsroom.halt.set()
        site.failing = False
        print(f"\nsoak over after {soak_s / 60:.1f} min; the feeds stop changing and failing, waiting for the "
              f"pipeline to catch up", flush=True)
        drain_started = time.monotonic()
        try:
            wait_until(lambda: check(pipeline, site).ok, DRAIN_TIMEOUT_S,
                       "every published item indexed once, in its latest version", interval_s=20)
        except Exception as exc:  # the report says what is missing
            print(f"not consistent within {DRAIN_TIMEOUT_S:.0f} s: {exc}", flush=True)
        result = check(pipeline, site)
        drain_s = time.monotonic() - drain_started
        logs.read()
        print("\n## Summary")
        print(f"soak {soak_s / 60:.1f} min, {len(samples)} samples every {args.sample_s:.0f} s, warm-up "
              f"{WARMUP_S / 60:.0f} min; feeds {args.feeds}, items published {len(site.published)} (initial "
              f"{args.feeds * ITEMS}, added {newsroom.added}), revised {newsroom.revised}; feed server "
              f"{dict(site.stats)}")
        print(summary(samples, topics, WARMUP_S))
        print("\nJVM live heap after a full GC (MiB), end of warm-up -> end of soak: " + ", ".join(
            f"{role} {(live_at_warmup or {}).get(role, (float('nan'), 0))[0]:.0f} -> {used:.0f}"
            for role, (used, _) in live_at_end.items()))
        print(f"\nrestarts seen (pid changes): {dict(restarts) or 'none'}; `up` alive at the end: {pipeline.alive()}")
        print(f"warning/error lines in `up`'s log during the soak and drain: {sum(logs.total.values())}; top 10:")
        for key, count in logs.total.most_common(10):
            print(f"  {count:6d}  {key}")
        print(f"\nconsistency after {drain_s:.0f} s of drain: expected {result.expected}, missing {result.missing}, "
              f"duplicated {result.duplicated}, stale (not the latest version) {result.stale}, unexpected "
              f"{result.unexpected} -> {'OK' if result.ok else 'FAILED'}")
        print(f"CSV: {csv_path}; log: {pipeline.log_path}")
        return 0 if result.ok and pipeline.alive() else 1
    finally:
        newsroom.halt.set()
        code, seconds = pipeline.stop(180)
        print(f"`up` stopped with {code} in {seconds:.1f} s", flush=True)
        if code is None:
            pipeline.kill()
        server.shutdown()
        shutil.rmtree(work / "data", ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--sample-s", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=18)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
