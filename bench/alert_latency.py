"""Alerts in the running pipeline: annotation throughput with N subscriptions active against none, and the
end-to-end latency from an article produced on `articles.raw` to its alert received by a webhook.

    .venv/bin/python bench/alert_latency.py --subscriptions 10000 --control-pairs 2 --pairs 4 --pair-articles 256 \\
        --latency-seconds 60

1. Starts `newsdesk up` twice as a user does, with the stages poll + annotate + index (matching runs after each
   indexed batch): A on embedded Kafka and OpenSearch JVMs of its own, B on A's engines under names of its own
   (topic prefix, app id, index alias), both with NEWSDESK_ALLOW_PRIVATE_ADDRESSES=1 (the receiver is on
   loopback). Each gets a warm-up round.
2. Control: --control-pairs rounds through A and B with no subscription anywhere: the ratio B/A that two
   identical pipelines give on this machine (what a ratio below has to be read against).
3. Produces --subscriptions subscriptions to B's `newsdesk.subscriptions` (the records `newsdesk alerts add`
   writes, channel "log"), plus one, `bench/latency`, matching every article (`lang:en`) with a webhook to a
   local http.server; waits until B's percolator index holds them all. The mix is the realistic one of
   bench/alerts_matching.py over this bench's vocabulary (its people, organisations, places and words, present
   in the articles at the head of a long tail of absent ones; topics narrowed by a name or words, 1 in 10
   topic-only).
4. Paired rounds: --pairs rounds of --pair-articles new articles through A (no subscription) and B (N + 1), the
   order swapped every other pair; a round's rate is articles / seconds from the first produce until all are on
   `articles.annotated` and counted in the index. Prints the ratio B/A per pair and the median.
5. Latency on B, once B's consumer group has committed every alert of the pairs (their backlog sent; how long
   that took is printed): articles produced one at a time at half of B's median rate for --latency-seconds (or
   --latency-rate); per article, from the moment it was produced (wall clock, this process) to the moment the
   receiver got the alert of `bench/latency` for it. p50, p90, p99, max.

Options: --delivery-worker 0|1 sets NEWSDESK_DELIVERY_WORKER for both `up`s (delivery in the annotating worker,
or in a worker of its own under `up`, the default since session 13); --separate-delivery runs B's deliver stage
in a `newsdesk worker` started beside `up` instead (README "Settings"); --pin
puts the JVMs (and that delivery worker) on CPU 1 and the pipelines on CPU 0 (`taskset -a`), the production shape
on one machine, so that matching and delivery do not take annotation's CPU; --table-store rocksdb|memory sets
NEWSDESK_TABLE_STORE for both (where the delivery ledger lives; compare the delivery worker's RSS).

One machine, shared: the pairs and the control are what to read, never one rate alone.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from alerts_matching import _zipf  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka import TopicPartition as KafkaTopicPartition  # noqa: E402
from pipeline_throughput import (  # noqa: E402
    ENGLISH,
    Pipeline,
    TopicCounter,
    _role,
    await_articles,
    counts,
    cpu_shares,
    cpu_snapshot,
    interesting_log_lines,
    make_articles,
    percentile,
    produce,
    produce_paced,
)

from newsdesk.subscriptions import new_subscription  # noqa: E402
from streams.records import Article, Channel  # noqa: E402
from tests.alert_corpus import REAL_TOPICS  # noqa: E402
from tests.integration.conftest import wait_until  # noqa: E402

B_PREFIX = "subs."
LATENCY_KEY = "bench/latency"


class Receiver(BaseHTTPRequestHandler):
    """Notes when the alert of each article for `bench/latency` arrives (the first copy)."""

    received: dict[str, float] = {}
    lock = threading.Lock()
    posts = 0

    def do_POST(self) -> None:
        now = time.time()
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            alert = json.loads(data)
            with Receiver.lock:
                Receiver.posts += 1
                Receiver.received.setdefault(str(alert["article_id"]), now)
        except (ValueError, KeyError):
            pass
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def bench_queries(n: int, seed: int = 7, max_share: float = 0.05) -> list[str]:
    """The realistic mix (bench/alerts_matching.py) over this bench's English vocabulary: 40% entities, 20%
    topics narrowed by a name or words (1 in 10 topic-only), 40% terms; names and words Zipf-drawn (s=1) from
    long tails headed by what the articles contain, leaving out what is in more than `max_share` of them (the
    generated articles are a dozen templates over a small vocabulary: most words are in every article)."""
    rng = random.Random(seed)
    v = ENGLISH
    sample = [f"{a.title} {a.text}".lower() for a in make_articles(200, 500, seed + 1, prefix="sample")]
    sample_words = [set(text.replace(",", " ").replace(".", " ").split()) for text in sample]

    def rare_name(name: str) -> bool:
        return sum(name.lower() in text for text in sample) <= max_share * len(sample)

    def rare_word(word: str) -> bool:
        return sum(word in words for words in sample_words) <= max_share * len(sample)

    present = [(field, name) for field, name in
               [("person", f"{f} {s}") for f in v.first_names for s in v.last_names]
               + [("org", o.removeprefix("the ")) for o in v.organisations]
               + [("place", p) for p in v.places + v.countries] if rare_name(name)]
    rng.shuffle(present)
    names: list[tuple[str, str]] = []
    for rank in range(4000):
        if rank % 2 == 0 and rank // 2 < len(present):
            names.append(present[rank // 2])
        else:
            names.append(("person", f"Anna Verdi{rank}") if rank % 3 else ("org", f"Acme{rank} Holding"))
    text = " ".join(v.sentences + v.headlines)
    words = sorted({w.lower() for w in text.replace(",", " ").replace(".", " ").split()
                    if w.isalpha() and len(w) > 3 and rare_word(w.lower())})
    rng.shuffle(words)
    vocabulary = words + [f"absent{i}" for i in range(40_000 - len(words))]

    def word() -> str:
        return vocabulary[_zipf(rng, len(vocabulary))]

    def name() -> str:
        field, value = names[_zipf(rng, len(names))]
        return f'{"entity" if rng.random() < 0.2 else field}:"{value}"'

    queries = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.40:
            queries.append(name())
        elif kind < 0.60:
            topic = f'topic:"{REAL_TOPICS[_zipf(rng, len(REAL_TOPICS))]}"'
            narrow = rng.random()
            if narrow < 0.45:
                queries.append(f"{topic} AND {name()}")
            elif narrow < 0.90:
                queries.append(f"{topic} AND " + " ".join(word() for _ in range(rng.choice((1, 2)))))
            else:
                queries.append(topic)
        else:
            style = rng.random()
            if style < 0.25:
                queries.append(f"({word()} OR {word()}) AND {word()}")
            elif style < 0.35:
                queries.append(f"{word()} AND NOT {word()}")
            else:
                queries.append(" ".join(word() for _ in range(rng.choice((1, 2, 2, 3)))))
    return queries


def load_subscriptions(pipeline: Pipeline, producer: KafkaProducer, queries: list[str], webhook: str) -> float:
    """The records `newsdesk alerts add` writes, straight to the topic; returns seconds until the percolator
    index of `pipeline` holds them all."""
    topic = f"{B_PREFIX}newsdesk.subscriptions"
    now = datetime.now(UTC)
    started = time.monotonic()
    futures = []
    for i, query in enumerate(queries):
        subscription = new_subscription("bench", f"s{i:06d}", query, [Channel(kind="log")], now=now)
        futures.append(producer.send(topic, key=subscription.key.encode(), value=subscription.to_bytes()))
    latency = new_subscription("bench", "latency", "lang:en", [Channel(kind="webhook", target=webhook)], now=now)
    futures.append(producer.send(topic, key=latency.key.encode(), value=latency.to_bytes()))
    producer.flush()
    for future in futures:
        future.get(timeout=60)
    url = f"{pipeline.search_url}/{pipeline.alias}-subscriptions/_count"

    def stored() -> bool:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(json.load(response)["count"]) >= len(queries) + 1

    wait_until(stored, 900, "the percolator index to hold every subscription", interval_s=1.0)
    return time.monotonic() - started


def round_rate(pipeline: Pipeline, producer: KafkaProducer, counter: TopicCounter, articles: list[Article],
               timeout_s: float) -> tuple[float, str]:
    """Articles/s from the first produce until all are annotated and indexed; the cores the pipeline used."""
    assert pipeline.process is not None
    base = counts(pipeline, counter)
    before = cpu_snapshot(pipeline.process.pid)
    t0 = time.monotonic()
    produce(producer, articles, pipeline.topic_raw)
    _, indexed_s = await_articles(pipeline, counter, base, len(articles), t0, timeout_s, progress=False)
    seconds = indexed_s or time.monotonic() - t0
    return len(articles) / seconds, cpu_shares(before, cpu_snapshot(pipeline.process.pid), seconds)


def pairs(pipelines: dict[str, Pipeline], producer: KafkaProducer, counter: TopicCounter, number: int,
          size: int, seed: int, label: str, timeout_s: float, lines: list[str],
          b_ids: list[str] | None = None) -> list[float]:
    """Paired rounds A/B, the order swapped every other pair; returns B's rates, appends the ratio lines (and the
    ids of B's articles to `b_ids`)."""
    ratios, b_rates = [], []
    for n in range(1, number + 1):
        order = ["A", "B"] if n % 2 else ["B", "A"]
        rates: dict[str, float] = {}
        notes = []
        for name in order:
            chunk = make_articles(size, 500, seed + 100 * n + (1 if name == "B" else 0), prefix=f"{label}{n}{name}")
            if name == "B" and b_ids is not None:
                b_ids += [article.id for article in chunk]
            rates[name], shares = round_rate(pipelines[name], producer, counter, chunk, timeout_s)
            notes.append(f"{name} {rates[name]:.1f}/s [{shares}]")
            time.sleep(2.0)
        ratios.append(rates["B"] / rates["A"])
        b_rates.append(rates["B"])
        print(f"{label} pair {n} ({order[0]} first): {'; '.join(notes)}; B/A {ratios[-1]:.3f}", flush=True)
    lines.append(f"{label}: {number} pairs x {size} articles, B/A per pair {', '.join(f'{r:.3f}' for r in ratios)}; "
                 f"median {statistics.median(ratios):.3f}")
    return b_rates


def start_delivery_worker(pipeline: Pipeline) -> subprocess.Popen[bytes]:
    """`NEWSDESK_STAGES='["deliver"]' newsdesk worker` beside the pipeline's `up`, as README "Settings" says."""
    log_path = pipeline.data_dir / "delivery-worker.log"
    env = {**pipeline.env, "NEWSDESK_STAGES": json.dumps(["deliver"]), "NEWSDESK_METRICS_PORT": "0"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "worker"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_until(lambda: "Ready" in log_path.read_text(errors="replace"), 120, "the delivery worker to be ready")
    print("B: delivery worker ready", flush=True)
    return process


def pin(pipelines: dict[str, Pipeline], delivery: subprocess.Popen[bytes] | None) -> str:
    """The production shape on one machine: the search and Kafka JVMs (and a delivery worker of its own) on CPU 1,
    each pipeline's own processes (up, API, worker, NLP pool) on CPU 0; every thread of each (`taskset -a`). So what
    the percolator and the delivery cost is not taken from annotation's CPU, as on hosts of their own."""
    engine_side: list[int] = [delivery.pid] if delivery is not None else []
    pipeline_side: list[int] = []
    for pipeline in pipelines.values():
        assert pipeline.process is not None
        root = psutil.Process(pipeline.process.pid)
        for process in [root, *root.children(recursive=True)]:
            (engine_side if process.name() == "java" else pipeline_side).append(process.pid)
    for cpu, pids in (("1", engine_side), ("0", pipeline_side)):
        for pid in pids:
            subprocess.run(["taskset", "-a", "-cp", cpu, str(pid)], check=True, capture_output=True)
    return f"pinned: {len(engine_side)} processes on CPU 1 (engines, delivery worker), {len(pipeline_side)} on CPU 0"


def alerts_behind(pipeline: Pipeline, consumer: KafkaConsumer) -> int:
    """Alerts on the pipeline's `alerts` topic its consumer group has not committed yet (not yet delivered);
    `consumer` has the group's id, so it reads the committed offsets without joining (no subscribe, no poll)."""
    topic = pipeline.topic_raw.replace("articles.raw", "alerts")
    partitions = [KafkaTopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    return sum(end - (consumer.committed(tp) or 0) for tp, end in consumer.end_offsets(partitions).items())


def memory_and_cpu(pipeline: Pipeline) -> str:
    """RSS and CPU time so far of each Python process of the pipeline (workers, NLP pool, API): what a delivery
    worker of its own costs beside the annotating worker."""
    if pipeline.process is None:
        return "not started"
    parts = []
    for process in psutil.Process(pipeline.process.pid).children(recursive=True):
        try:
            role = _role(process)
            if role.endswith("JVM"):
                continue
            times = process.cpu_times()
            parts.append(f"{role} {process.memory_info().rss / 2**20:.0f} MiB, {times.user + times.system:.0f} s CPU")
        except psutil.NoSuchProcess:
            continue
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--control-pairs", type=int, default=2, help="A/B pairs before any subscription (0: none)")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--pair-articles", type=int, default=256)
    parser.add_argument("--nlp-workers", type=int, default=2)
    parser.add_argument("--latency-seconds", type=float, default=60.0, help="0: no latency measure")
    parser.add_argument("--latency-rate", type=float, default=0.0, help="articles/s (default: half B's median)")
    parser.add_argument("--max-share", type=float, default=0.05,
                        help="names and words in more than this share of the articles are not followed")
    parser.add_argument("--separate-delivery", action="store_true",
                        help="B delivers alerts in a worker of its own (stage deliver), not in up's worker")
    parser.add_argument("--delivery-worker", choices=["default", "0", "1"], default="default",
                        help="NEWSDESK_DELIVERY_WORKER for both pipelines' `up` (default: the settings' default)")
    parser.add_argument("--table-store", choices=["default", "rocksdb", "memory"], default="default",
                        help="NEWSDESK_TABLE_STORE for both pipelines (where the delivery ledger lives)")
    parser.add_argument("--pin", action="store_true",
                        help="engines (and a delivery worker of its own) on CPU 1, the pipelines on CPU 0")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{receiver.server_address[1]}/alert"
    env = {"NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "1",
           **({} if args.delivery_worker == "default" else {"NEWSDESK_DELIVERY_WORKER": args.delivery_worker}),
           **({} if args.table_store == "default" else {"NEWSDESK_TABLE_STORE": args.table_store})}
    dirs = [Path(tempfile.mkdtemp(prefix="bench-alert-latency-")) for _ in range(2)]
    a = Pipeline(dirs[0], args.nlp_workers, indexing=True, extra_env=env)
    b = Pipeline(dirs[1], args.nlp_workers, indexing=True, engines=a, prefix=B_PREFIX, extra_env=env)
    if args.separate_delivery:
        b.env["NEWSDESK_STAGES"] = json.dumps(["poll", "annotate", "index"])
    delivery: subprocess.Popen[bytes] | None = None
    pipelines = {"A": a, "B": b}
    lines = [f"command: bench/alert_latency.py {' '.join(sys.argv[1:])}",
             f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    producer: KafkaProducer | None = None
    counter: TopicCounter | None = None
    try:
        a.start()
        print(f"A ready in {a.wait_ready(600):.1f}s", flush=True)
        b.start()
        print(f"B ready in {b.wait_ready(600):.1f}s", flush=True)
        if args.separate_delivery:
            delivery = start_delivery_worker(b)
        producer = KafkaProducer(bootstrap_servers=a.bootstrap, acks="all", linger_ms=5,
                                 max_request_size=16 * 1024 * 1024)
        counter = TopicCounter(a.bootstrap)
        for name, pipeline in pipelines.items():
            started = time.monotonic()
            round_rate(pipeline, producer, counter, make_articles(40, 500, args.seed, prefix=f"warm{name}"),
                       args.timeout)
            print(f"{name}: warm-up done in {time.monotonic() - started:.1f}s", flush=True)
        if args.pin:
            lines.append(pin(pipelines, delivery))
            print(lines[-1], flush=True)
        if args.control_pairs:
            pairs(pipelines, producer, counter, args.control_pairs, args.pair_articles, args.seed + 1,
                  "control (no subscriptions)", args.timeout, lines)
        queries = bench_queries(args.subscriptions, max_share=args.max_share)
        seconds = load_subscriptions(b, producer, queries, webhook)
        lines.append(f"B: {args.subscriptions:,} subscriptions + 1 webhook subscription stored in {seconds:.0f}s")
        print(lines[-1], flush=True)
        alerts_before = counter.count(b.topic_raw.replace("articles.raw", "alerts"))
        indexed_before = counts(b, counter).indexed
        b_ids: list[str] = []
        b_rates = pairs(pipelines, producer, counter, args.pairs, args.pair_articles, args.seed + 2,
                        f"B with {args.subscriptions:,} subscriptions", args.timeout, lines, b_ids)
        # The pairs offer articles as fast as B annotates them, beyond what delivery sends at ~120 alerts per
        # article: the latency measure starts once B's group has committed every alert (the backlog delivered)
        drained = time.monotonic()
        wait_until(lambda: all(i in Receiver.received for i in b_ids), args.timeout,
                   "the webhook alerts of every pair article", interval_s=0.5)
        webhook_s = time.monotonic() - drained
        group_reader = KafkaConsumer(bootstrap_servers=b.bootstrap, enable_auto_commit=False,
                                     group_id=b.env.get("NEWSDESK_APP_ID", "newsdesk"))
        try:
            wait_until(lambda: alerts_behind(b, group_reader) == 0, args.timeout,
                       "B's delivery to commit every alert", interval_s=0.5)
        finally:
            group_reader.close()
        lines.append(f"B: after the last pair, its webhook alerts all received in {webhook_s:.1f}s, every alert "
                     f"delivered (committed) in {time.monotonic() - drained:.1f}s")
        print(lines[-1], flush=True)
        matched = counter.count(b.topic_raw.replace("articles.raw", "alerts")) - alerts_before
        per_article = matched / max(1, counts(b, counter).indexed - indexed_before)
        lines.append(f"B: {per_article:.1f} alerts per article in the pairs (the webhook subscription's 1 included)")
        print(lines[-1], flush=True)
        if args.latency_seconds > 0:
            rate = args.latency_rate or 0.5 * statistics.median(b_rates)
            articles = make_articles(max(10, int(args.latency_seconds * rate)), 500, args.seed + 9, prefix="latency")
            sent: dict[str, float] = {}
            produce_paced(producer, articles, rate, b.topic_raw, sent)
            wait_until(lambda: all(a.id in Receiver.received for a in articles), args.timeout,
                       "every latency article's alert at the webhook", interval_s=0.5)
            in_order = [Receiver.received[key] - at for key, at in sorted(sent.items(), key=lambda item: item[1])]
            third = max(1, len(in_order) // 3)  # a backlog left by the pairs: a first third slower than the last
            lines.append(f"latency p50 of the first / last third of the articles produced: "
                         f"{statistics.median(in_order[:third]):.2f}s / {statistics.median(in_order[-third:]):.2f}s")
            values = sorted(in_order)
            lines.append(f"latency on B, produce on articles.raw -> alert received by the webhook, {len(values)} "
                         f"articles at {rate:.1f}/s (half B's median rate): p50 {percentile(values, 0.5):.2f}s, "
                         f"p90 {percentile(values, 0.9):.2f}s, p99 {percentile(values, 0.99):.2f}s, "
                         f"max {values[-1]:.2f}s")
            print(lines[-1], flush=True)
    except Exception:
        for name, pipeline in pipelines.items():
            print(f"--- {name} log ---\n{interesting_log_lines(pipeline.log())}", flush=True)
        raise
    finally:
        if delivery is not None:
            delivery_cpu = psutil.Process(delivery.pid).cpu_times()
            print(f"B's delivery worker used {delivery_cpu.user + delivery_cpu.system:.0f} s of CPU", flush=True)
            delivery.send_signal(signal.SIGTERM)
            try:
                delivery.wait(60)
            except subprocess.TimeoutExpired:
                delivery.kill()
        for name, pipeline in pipelines.items():
            print(f"{name}: {memory_and_cpu(pipeline)}", flush=True)
        if producer is not None:
            producer.close(timeout=10)
        if counter is not None:
            counter.close()
        for pipeline in (b, a):
            pipeline.stop_or_kill()
        receiver.shutdown()
        for directory in dirs:
            shutil.rmtree(directory, ignore_errors=True)
    print("\n----- summary -----\n" + "\n".join(lines) + "\n-------------------")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
