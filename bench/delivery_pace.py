"""How many alerts a second one delivery worker sends, with the delivery ledger in memory (A) or in RocksDB (B).

    .venv/bin/python bench/delivery_pace.py [--alerts 20000] [--pairs 3] [--subscriptions 200]

Two `newsdesk up` pipelines on one pair of embedded engines, each running only the deliver stage (one worker,
no NLP), A with NEWSDESK_TABLE_STORE=memory and B with rocksdb, every other setting the same. Each subscription
has one webhook channel, to a receiver in this process. A round produces --alerts alerts (the records the
matching stage writes, spread over the subscriptions) to one pipeline's `alerts` topic and times from the first
produce to the receiver holding every one of them; pairs alternate which pipeline goes first. Prints each
round's alerts/s, the ratio B/A per pair, and their median. The ledger grows by --alerts entries per round.

One machine, shared: read the ratios of the pairs, not one rate alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka import KafkaProducer  # noqa: E402
from pipeline_throughput import Pipeline, interesting_log_lines  # noqa: E402

from newsdesk.subscriptions import new_subscription  # noqa: E402
from streams.records import Alert, Channel  # noqa: E402
from tests.integration.conftest import wait_until  # noqa: E402
from tests.loopback import QuietHandler, serve  # noqa: E402

PREFIXES = {"A": "mem.", "B": "rocks."}
STORES = {"A": "memory", "B": "rocksdb"}


class Receiver(QuietHandler):
    """Counts the distinct alert ids received, per pipeline (the path says which)."""

    received: dict[str, set[str]] = {"A": set(), "B": set()}
    lock = threading.Lock()

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with contextlib.suppress(ValueError, KeyError), Receiver.lock:
            Receiver.received[self.path.strip("/")].add(str(json.loads(data)["id"]))
        self.send_body(204, "text/plain", b"")


def subscribe(prefix: str, producer: KafkaProducer, count: int, webhook: str) -> list[str]:
    topic = f"{prefix}newsdesk.subscriptions"
    keys = []
    for i in range(count):
        subscription = new_subscription("bench", f"pace{i:04d}", "lang:en", [Channel(kind="webhook", target=webhook)])
        producer.send(topic, key=subscription.key.encode(), value=subscription.to_bytes())
        keys.append(subscription.key)
    producer.flush()
    return keys


def one_round(name: str, prefix: str, producer: KafkaProducer, subscriptions: list[str], alerts: int,
              round_number: int, timeout_s: float) -> float:
    """alerts/s from the first produce to the receiver holding all of them."""
    topic = f"{prefix}alerts"
    now = datetime.now(UTC)
    with Receiver.lock:
        before = len(Receiver.received[name])
    started = time.monotonic()
    for i in range(alerts):
        alert = Alert(id=f"r{round_number}-{i}", subscription=subscriptions[i % len(subscriptions)],
                      article_id=f"article-{round_number}-{i}", title=f"Article {i}", language="en", matched_at=now)
        producer.send(topic, key=alert.id.encode(), value=alert.to_bytes())
    producer.flush()

    def arrived() -> bool:
        with Receiver.lock:
            return len(Receiver.received[name]) - before >= alerts

    wait_until(arrived, timeout_s, f"{name}'s {alerts} alerts to arrive", interval_s=0.05)
    return alerts / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=20_000, help="alerts per round")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600.0, help="per round")
    args = parser.parse_args()

    receiver, base = serve(Receiver)
    dirs = {name: Path(tempfile.mkdtemp(prefix=f"bench-delivery-pace-{name}-")) for name in PREFIXES}
    env = {"NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "1", "NEWSDESK_STAGES": '["deliver"]'}
    a = Pipeline(dirs["A"], 1, indexing=True, prefix=PREFIXES["A"],
                 extra_env={**env, "NEWSDESK_TABLE_STORE": STORES["A"]})
    b = Pipeline(dirs["B"], 1, indexing=True, engines=a, prefix=PREFIXES["B"],
                 extra_env={**env, "NEWSDESK_TABLE_STORE": STORES["B"]})
    pipelines = {"A": a, "B": b}
    producer: KafkaProducer | None = None
    rates: dict[str, list[float]] = {"A": [], "B": []}
    print(f"command: bench/delivery_pace.py {' '.join(sys.argv[1:])}\ndate: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
          flush=True)
    try:
        for name, pipeline in pipelines.items():
            pipeline.start()
            print(f"{name} ({STORES[name]}) ready in {pipeline.wait_ready(600):.1f}s", flush=True)
        producer = KafkaProducer(bootstrap_servers=a.bootstrap, acks="all", linger_ms=5)
        subscriptions = {name: subscribe(PREFIXES[name], producer, args.subscriptions, f"{base}/{name}")
                         for name in pipelines}
        # a first alert each: the delivery worker's subscription copy and senders are built, the topics warm
        for name in pipelines:
            one_round(name, PREFIXES[name], producer, subscriptions[name], 50, 0, args.timeout)
        for pair in range(1, args.pairs + 1):
            order = ("A", "B") if pair % 2 else ("B", "A")
            for name in order:
                rate = one_round(name, PREFIXES[name], producer, subscriptions[name], args.alerts, pair, args.timeout)
                rates[name].append(rate)
                print(f"pair {pair} {name} ({STORES[name]:7s}) {rate:7.0f} alerts/s", flush=True)
            print(f"pair {pair}: B/A {rates['B'][-1] / rates['A'][-1]:.3f}", flush=True)
    except Exception:
        for name, pipeline in pipelines.items():
            print(f"--- {name} log ---\n{interesting_log_lines(pipeline.log())}", flush=True)
        raise
    finally:
        if producer is not None:
            producer.close(timeout=10)
        for pipeline in (b, a):
            pipeline.stop_or_kill()
        receiver.shutdown()
        for directory in dirs.values():
            shutil.rmtree(directory, ignore_errors=True)
    ratios = [rb / ra for ra, rb in zip(rates["A"], rates["B"], strict=True)]
    print(f"\nA (memory) median {statistics.median(rates['A']):.0f} alerts/s, B (rocksdb) median "
          f"{statistics.median(rates['B']):.0f} alerts/s; B/A per pair "
          f"{', '.join(f'{r:.3f}' for r in ratios)}; median **{statistics.median(ratios):.3f}**")
    return 0


if __name__ == "__main__":
    sys.exit(main())
