"""What the embedded broker (noida-db) costs in CPU as the articles it holds grow.

    .venv/bin/python bench/embedded_broker.py [--steps 500,2000,5000,10000]

noida-db rewrites its whole state after a change, so under a steady trickle of messages its CPU grows with what
it holds, while an idle broker costs nothing. This starts a fresh noida-db (Kafka only), fills a topic with
synthetic ~500-word articles as the worker writes them (each twice, as articles.raw and articles.annotated hold
it; zstd, batched like NEWSDESK_KAFKA_*), and at each step measures the broker's CPU for --seconds idle and then
for --seconds with one 1 KB message per second. The state file's size is what it rewrites. Results belong in
docs/benchmarks.md; they are why the embedded topics keep a bounded retention.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_throughput import make_articles, state_megabytes  # noqa: E402

from newsdesk.embedded import noida_binary  # noqa: E402
from newsdesk.settings import Settings  # noqa: E402
from tests.integration.conftest import free_port, wait_until  # noqa: E402


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="500,2000,5000,10000", help="articles held at each step (cumulative)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each CPU measure")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]

    settings = Settings()
    data_dir = Path(tempfile.mkdtemp(prefix="newsdesk-broker-"))
    port = free_port()
    broker = subprocess.Popen([noida_binary(), "start", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                               "--only", "kafka", "--kafka-port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process = psutil.Process(broker.pid)
    bootstrap = f"127.0.0.1:{port}"
    try:
        admin = wait_until(lambda: KafkaAdminClient(bootstrap_servers=bootstrap), 60, "noida-db", interval_s=0.5)
        admin.create_topics([NewTopic("held", num_partitions=4, replication_factor=1),
                             NewTopic("trickle", num_partitions=1, replication_factor=1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=settings.compression_type,
                                 batch_size=settings.kafka_batch_bytes, linger_ms=settings.kafka_linger_ms,
                                 max_request_size=16 * 1024 * 1024)
        print(f"noida-db on {bootstrap}, data {data_dir}; {args.seconds:.0f} s per measure", flush=True)
        held = 0
        for step in steps:
            for article in make_articles(step - held, 500, seed=step, prefix=f"held{step}"):
                value = article.to_bytes()
                for _ in range(2):  # articles.raw and articles.annotated each hold a copy
                    producer.send("held", key=article.id.encode(), value=value)
            producer.flush()
            held = step
            time.sleep(5.0)  # let the broker save what it was sent
            before = cpu_seconds(process)
            time.sleep(args.seconds)
            idle = (cpu_seconds(process) - before) / args.seconds
            before, started = cpu_seconds(process), time.monotonic()
            while time.monotonic() - started < args.seconds:
                producer.send("trickle", value=b"x" * 1000).get(timeout=10)
                time.sleep(1.0)
            trickle = (cpu_seconds(process) - before) / (time.monotonic() - started)
            state_mb = state_megabytes(data_dir)
            print(f"{held:6d} articles held, state {state_mb:6.1f} MB ({state_mb * 1e3 / held:.1f} KB per article): "
                  f"idle {idle:.3f} core; one 1 KB message per second {trickle:.3f} core", flush=True)
        producer.close()
    finally:
        broker.terminate()
        broker.wait(timeout=300)


if __name__ == "__main__":
    main()
