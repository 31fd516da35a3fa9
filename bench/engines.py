"""The embedded engines under `newsdesk up`: time to ready, the JVMs idle, and Faust's exactly_once on real Kafka.

    .venv/bin/python bench/engines.py startup [--starts 2] [--idle-seconds 30]
    .venv/bin/python bench/engines.py guarantee [--pairs 6] [--pair-articles 256] [--language it]

`startup`: `python -m newsdesk.cli up` (every stage, as a user runs it) on a fresh data dir with free ports for
Kafka, its controller and OpenSearch, timed from the start of the process to the "kafka ready on", "opensearch
ready on" and "[^Worker]: Ready" lines of its log (polled every 0.1 s). Then the JVMs idle: CPU over
--idle-seconds and RSS at the end (psutil). Stopped with SIGTERM (timed), then started again on the same data dir
and timed to ready once more (the restart: storage formatted, index and topics there, jars cached). --starts
repeats the whole on new data dirs. The Maven cache is warm in every start: resolving the jars is a one-off
(newsdesk/engines/maven.py), not part of these times.

`guarantee`: whether faust-streaming's processing_guarantee="exactly_once" works on real Kafka, and what it
costs. Two `up`s side by side on one set of engines: the first runs the embedded JVMs and the shipped
at_least_once worker; the second uses the first's engines as clusters, under a topic prefix, app id and index
alias of its own ("eos-"), and its worker runs with exactly_once. The guarantee is switched without touching the
project: the second `up` gets a PYTHONPATH entry with a sitecustomize.py that overrides the processing_guarantee
passed to faust.App when NEWSDESK_BENCH_PROCESSING_GUARANTEE is set (read by this experiment only). Stages poll +
annotate (Kafka -> Faust -> Kafka). Then:
1. Paired rounds: --pairs rounds of --pair-articles new articles through each worker in turn (order swapped every
   other pair; the other worker idles), each timed from the first produce to the moment a read_committed consumer
   of its articles.annotated has seen every key; the median of the per-pair ratios exactly_once / at_least_once.
2. Latency at a steady load: --latency-seconds of articles at --latency-rate per second (default: half the
   at_least_once median rate of step 1) to each worker in turn, produce -> seen by a read_committed consumer.
3. --kills rounds of a kill -9 of each worker mid-flow (--kill-articles articles produced, the worker killed once
   a third of them are out, in a read_committed view); `up` starts a new worker, which finishes the flow.
4. Every article produced is counted on each articles.annotated with a read_committed consumer (what a
   downstream consumer sees) and a read_uncommitted one (what is in the log): missing keys, keys more than once,
   by flow (warm-up, pairs, latency, each kill).

Results go to docs/benchmarks.md. The machine is shared: pair rounds and compare ratios, not rates.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsing import cpu_model  # noqa: E402  (bench/ is on sys.path when a bench script runs)
from pipeline_throughput import (  # noqa: E402
    READY_MARK,
    Pipeline,
    _nproc,
    _role,
    cpu_shares,
    cpu_snapshot,
    engine_versions,
    idle_usage,
    machine_busy_seconds,
    make_articles,
    package_version,
    percentile,
    produce,
    produce_paced,
)

from streams.records import Article  # noqa: E402
from tests.integration.conftest import wait_until  # noqa: E402

GUARANTEE_ENV = "NEWSDESK_BENCH_PROCESSING_GUARANTEE"
EOS_PREFIX = "eos-"

SITECUSTOMIZE = f'''
"""bench/engines.py: processing_guarantee from ${GUARANTEE_ENV}, for the experiment only."""
import importlib.abc
import importlib.util
import os
import sys

_GUARANTEE = os.environ.get("{GUARANTEE_ENV}")


class _PatchFaustApp(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "faust.app.base":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module

        def patched_exec(module):
            exec_module(module)
            init = module.App.__init__

            def __init__(self, *args, **kwargs):
                kwargs["processing_guarantee"] = _GUARANTEE
                init(self, *args, **kwargs)

            module.App.__init__ = __init__
            print("bench: faust.App processing_guarantee =", _GUARANTEE, file=sys.stderr, flush=True)

        spec.loader.exec_module = patched_exec
        return spec


if _GUARANTEE:
    sys.meta_path.insert(0, _PatchFaustApp())
'''


def machine_line() -> str:
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores (nproc {_nproc()}), {cpu_model()}, load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f}")


def software_line() -> str:
    return (f"Python {platform.python_version()}, faust-streaming {package_version('faust-streaming')}, aiokafka "
            f"{package_version('aiokafka')}, kafka-python {package_version('kafka-python')}; {engine_versions()}; "
            f"{os.path.basename(os.path.realpath(shutil.which('java') or 'java'))} "
            f"{_java_version()}")


def _java_version() -> str:
    import subprocess

    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "?"
    first = (done.stderr or done.stdout).splitlines()
    return first[0] if first else "?"


# -- startup ------------------------------------------------------------------------------------------------


def startup(args: argparse.Namespace) -> list[str]:
    lines = []
    for number in range(1, args.starts + 1):
        data_dir = Path(tempfile.mkdtemp(prefix="newsdesk-engines-"))
        pipeline = Pipeline(data_dir, nlp_workers=2, indexing=True)
        pipeline.env["NEWSDESK_STAGES"] = '["poll", "annotate", "index", "deliver"]'  # the default: every stage
        try:
            for phase in ("fresh data dir", "restart, same data dir"):
                pipeline.start()
                ready_s = pipeline.wait_ready(timeout_s=300)
                line = f"start {number}, {phase}: ready in {ready_s:.1f}s ({pipeline.describe_milestones()})"
                print(line, flush=True)
                if phase == "fresh data dir" and args.idle_seconds > 0:
                    time.sleep(args.settle_seconds)
                    idle = idle_usage(pipeline, args.idle_seconds)
                    line += f"\n  idle {args.settle_seconds:.0f}-{args.settle_seconds + args.idle_seconds:.0f}s " \
                            f"after ready: {idle}"
                    print(f"  {idle}", flush=True)
                code, stop_s = pipeline.stop(timeout_s=300)
                if code is None:
                    pipeline.kill()
                line += f"\n  SIGTERM stop: {stop_s:.1f}s, exit code {code}"
                print(f"  stopped: exit {code} after {stop_s:.1f}s", flush=True)
                lines.append(line)
        finally:
            pipeline.kill()
            shutil.rmtree(data_dir, ignore_errors=True)
    return lines


# -- at_least_once vs exactly_once --------------------------------------------------------------------------


class Seen:
    """A consumer of one topic from its current end, noting when each key is first seen."""

    def __init__(self, bootstrap: str, topic: str, isolation: str = "read_committed") -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      isolation_level=isolation, fetch_max_wait_ms=100)
        ids = wait_until(lambda: self.consumer.partitions_for_topic(topic), 60, f"topic {topic}")
        partitions = [TopicPartition(topic, p) for p in sorted(ids)]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end()
        for partition in partitions:
            self.consumer.position(partition)  # resolve the end now, before anything is produced
        self.first: dict[bytes, float] = {}  # key -> wall clock when first seen

    def wait(self, keys: set[bytes], timeout_s: float, alive: Pipeline) -> None:
        deadline = time.monotonic() + timeout_s
        while not keys <= self.first.keys():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out: {len(keys - self.first.keys())} of {len(keys)} not seen")
            if not alive.alive():
                raise RuntimeError("`newsdesk up` exited")
            for records in self.consumer.poll(timeout_ms=100).values():
                now = time.time()
                for record in records:
                    self.first.setdefault(record.key, now)

    def close(self) -> None:
        self.consumer.close()


def count_keys(bootstrap: str, topic: str, isolation: str) -> Counter[bytes]:
    """Every key of a whole topic, counted."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=isolation)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        # read_committed stops at the last stable offset; end_offsets is the high watermark (markers included)
        ends = consumer.end_offsets(partitions)
        counted: Counter[bytes] = Counter()
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 5 and any(consumer.position(p) < ends[p] for p in partitions):
            batch = consumer.poll(timeout_ms=500)
            if batch:
                idle_since = time.monotonic()
            for records in batch.values():
                counted.update(record.key for record in records)
        return counted
    finally:
        consumer.close()


def worker_of(pipeline: Pipeline) -> object | None:
    import psutil

    assert pipeline.process is not None
    for child in psutil.Process(pipeline.process.pid).children(recursive=True):
        if _role(child) == "faust worker":
            return child
    return None


def dead_count(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return sum(consumer.end_offsets(partitions).values()) if partitions else 0
    finally:
        consumer.close()


def round_through(pipeline: Pipeline, producer: KafkaProducer, articles: list[Article], timeout_s: float) -> tuple[
        float, str]:
    """Articles/s from the first produce until a read_committed consumer has seen all of them, and the cores of
    `up`'s process tree in that window."""
    seen = Seen(pipeline.bootstrap, pipeline.topic_annotated)
    try:
        assert pipeline.process is not None
        before = cpu_snapshot(pipeline.process.pid)
        t0_wall, t0 = time.time(), time.monotonic()
        produce(producer, articles, pipeline.topic_raw)
        seen.wait({a.id.encode() for a in articles}, timeout_s, pipeline)
        wall = time.monotonic() - t0
        shares = cpu_shares(before, cpu_snapshot(pipeline.process.pid), wall)
        last = max(seen.first[a.id.encode()] for a in articles) - t0_wall
        return len(articles) / last, shares
    finally:
        seen.close()


def latency_through(pipeline: Pipeline, producer: KafkaProducer, articles: list[Article], rate: float,
                    timeout_s: float) -> list[float]:
    """Produce -> seen by a read_committed consumer, per article, at a steady rate (the consumer polls meanwhile)."""
    import threading

    seen = Seen(pipeline.bootstrap, pipeline.topic_annotated)
    sent: dict[str, float] = {}
    producing = threading.Thread(target=produce_paced, args=(producer, articles, rate, pipeline.topic_raw, sent),
                                 daemon=True)
    try:
        producing.start()
        seen.wait({a.id.encode() for a in articles}, timeout_s, pipeline)
        producing.join()
        return sorted(seen.first[key.encode()] - at for key, at in sent.items())
    finally:
        seen.close()


def kill_mid_flow(pipeline: Pipeline, producer: KafkaProducer, articles: list[Article], timeout_s: float) -> str:
    """kill -9 of the worker once a third of the articles are out; seconds until every one is seen again."""
    seen = Seen(pipeline.bootstrap, pipeline.topic_annotated)
    try:
        t0 = time.monotonic()
        produce(producer, articles, pipeline.topic_raw)
        keys = {a.id.encode() for a in articles}
        while len(seen.first.keys() & keys) < len(keys) // 3:
            for records in seen.consumer.poll(timeout_ms=100).values():
                for record in records:
                    seen.first.setdefault(record.key, time.time())
            if time.monotonic() - t0 > timeout_s:
                raise RuntimeError("the flow did not start")
        worker = worker_of(pipeline)
        assert worker is not None, "no faust worker below `up`"
        out = len(seen.first.keys() & keys)
        worker.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        killed_at = time.monotonic()
        seen.wait(keys, timeout_s, pipeline)
        return (f"killed with {out} of {len(keys)} out; all seen {time.monotonic() - killed_at:.0f}s after the kill "
                f"(worker restarts in the log: {pipeline.log().count('faust-worker restarted')})")
    finally:
        seen.close()


def guarantee(args: argparse.Namespace) -> list[str]:
    from newsdesk.settings import Settings

    site = Path(tempfile.mkdtemp(prefix="newsdesk-eos-site-"))
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    alo_dir = Path(tempfile.mkdtemp(prefix="newsdesk-alo-"))
    eos_dir = Path(tempfile.mkdtemp(prefix="newsdesk-eos-"))
    alo = Pipeline(alo_dir, args.nlp_workers, indexing=False)
    python_path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    eos = Pipeline(eos_dir, args.nlp_workers, indexing=False, engines=alo, prefix=EOS_PREFIX,
                   extra_env={"PYTHONPATH": python_path, GUARANTEE_ENV: "exactly_once"})
    pipelines = {"at_least_once": alo, "exactly_once": eos}
    lines: list[str] = []
    produced: dict[str, dict[str, list[Article]]] = {name: {} for name in pipelines}  # name -> flow -> articles
    producer: KafkaProducer | None = None
    try:
        alo.start()
        print(f"at_least_once `up` ready in {alo.wait_ready(300):.1f}s ({alo.describe_milestones()})", flush=True)
        eos.start()
        print(f"exactly_once `up` ready in {eos.wait_ready(300):.1f}s", flush=True)
        if "processing_guarantee = exactly_once" not in eos.log():
            raise RuntimeError("the exactly_once worker did not take the patched guarantee (see its log)")
        settings = Settings()
        producer = KafkaProducer(bootstrap_servers=alo.bootstrap, acks="all", linger_ms=settings.kafka_linger_ms,
                                 batch_size=settings.kafka_batch_bytes, max_request_size=16 * 1024 * 1024,
                                 compression_type=settings.compression_type)
        for name, pipeline in pipelines.items():
            warmup = make_articles(20, args.words, args.seed + 1, prefix=f"warmup-{name}", language=args.language)
            started = time.monotonic()
            round_through(pipeline, producer, warmup, 300)
            produced[name]["warm-up"] = warmup
            print(f"{name}: warm-up of {len(warmup)} done in {time.monotonic() - started:.1f}s", flush=True)

        ratios = []
        alo_rates = []
        busy_before, wall_before = machine_busy_seconds(), time.monotonic()
        for number in range(1, args.pairs + 1):
            order = ["at_least_once", "exactly_once"] if number % 2 else ["exactly_once", "at_least_once"]
            rates: dict[str, float] = {}
            notes = []
            for name in order:
                chunk = make_articles(args.pair_articles, args.words, args.seed + 100 * number,
                                      prefix=f"pair{number}-{name}", language=args.language)
                rates[name], shares = round_through(pipelines[name], producer, chunk, args.timeout)
                produced[name].setdefault("pairs", []).extend(chunk)
                notes.append(f"{name} {rates[name]:.1f} docs/s [{shares}]")
                time.sleep(2.0)
            ratio = rates["exactly_once"] / rates["at_least_once"]
            ratios.append(ratio)
            alo_rates.append(rates["at_least_once"])
            print(f"pair {number} ({order[0]} first): {'; '.join(notes)}; ratio {ratio:.2f}", flush=True)
        busy_after, wall = machine_busy_seconds(), time.monotonic() - wall_before
        busy = (busy_after - busy_before) / wall if busy_before is not None and busy_after is not None else None
        if ratios:
            lines.append(f"paired rounds ({args.pairs} x {args.pair_articles} articles, {args.language}, order "
                         f"swapped every other pair): ratio exactly_once / at_least_once per pair "
                         f"{', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}"
                         + (f"; machine busy {busy:.2f} cores on average over the rounds" if busy is not None else ""))

        if args.latency_seconds > 0:
            rate = args.latency_rate or 0.5 * statistics.median(alo_rates or [20.0])
            for name in ("at_least_once", "exactly_once"):
                articles = make_articles(int(args.latency_seconds * rate), args.words, args.seed + 7,
                                         prefix=f"latency-{name}", language=args.language)
                values = latency_through(pipelines[name], producer, articles, rate, args.timeout)
                produced[name]["latency"] = articles
                line = (f"latency {name}, produce -> seen by a read_committed consumer, {len(values)} articles at "
                        f"{rate:.1f}/s: p50 {percentile(values, 0.5):.2f}s, p90 {percentile(values, 0.9):.2f}s, "
                        f"p99 {percentile(values, 0.99):.2f}s, max {values[-1]:.2f}s")
                print(line, flush=True)
                lines.append(line)

        for kill in range(1, args.kills + 1):
            for name in ("at_least_once", "exactly_once"):
                articles = make_articles(args.kill_articles, args.words, args.seed + 9 + kill,
                                         prefix=f"kill{kill}-{name}", language=args.language)
                outcome = kill_mid_flow(pipelines[name], producer, articles, args.timeout)
                produced[name][f"kill {kill}"] = articles
                line = f"kill -9 {kill} of the {name} worker mid-flow ({len(articles)} articles): {outcome}"
                print(line, flush=True)
                lines.append(line)

        time.sleep(5.0)
        for name, pipeline in pipelines.items():
            keys = {a.id.encode() for flow in produced[name].values() for a in flow}
            for isolation in ("read_committed", "read_uncommitted"):
                counted = count_keys(pipeline.bootstrap, pipeline.topic_annotated, isolation)
                missing = len(keys - counted.keys())
                twice = sum(1 for key in keys if counted[key] > 1)
                extra = sum(counted[key] - 1 for key in keys if counted[key] > 1)
                by_flow = ", ".join(
                    f"{flow} {sum(1 for a in flow_articles if counted[a.id.encode()] > 1)}/{len(flow_articles)}"
                    for flow, flow_articles in produced[name].items())
                line = (f"{name}, {pipeline.topic_annotated} read {isolation}: {len(keys)} articles produced, "
                        f"{missing} missing, {twice} more than once ({extra} extra records; by flow: {by_flow}), "
                        f"{len(counted.keys() - keys)} unknown keys")
                print(line, flush=True)
                lines.append(line)
            lines.append(f"{name}: dead letters {dead_count(pipeline.bootstrap, pipeline.topic_dead)}")
    finally:
        if producer is not None:
            producer.close(timeout=10)
        for name, pipeline in reversed(list(pipelines.items())):
            if pipeline.process is not None:
                code, seconds = pipeline.stop(timeout_s=300)
                if code is None:
                    pipeline.kill()
                print(f"{name} `up` stopped: exit {code} after {seconds:.1f}s", flush=True)
        errors = [line for line in eos.log().splitlines() if "ERROR" in line or "Traceback" in line]
        if errors:
            lines.append(f"exactly_once `up` log: {len(errors)} error lines, first: {errors[0][:300]}")
        if args.keep_data:
            print(f"data kept: {alo_dir} {eos_dir}", flush=True)
        else:
            for directory in (alo_dir, eos_dir, site):
                shutil.rmtree(directory, ignore_errors=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("startup", help="time `newsdesk up` to ready, fresh and restarted; the JVMs idle")
    start.add_argument("--starts", type=int, default=1, help="fresh data dirs to start on (each restarted once)")
    start.add_argument("--settle-seconds", type=float, default=0.0, help="wait this long after ready first")
    start.add_argument("--idle-seconds", type=float, default=30.0, help="idle measure after ready (0: skip)")
    eos = commands.add_parser("guarantee", help="exactly_once against at_least_once on the real Kafka")
    eos.add_argument("--pairs", type=int, default=6)
    eos.add_argument("--pair-articles", type=int, default=256)
    eos.add_argument("--words", type=int, default=500)
    eos.add_argument("--language", default="en", choices=["en", "it"])
    eos.add_argument("--nlp-workers", type=int, default=2)
    eos.add_argument("--seed", type=int, default=2026)
    eos.add_argument("--timeout", type=float, default=600.0)
    eos.add_argument("--latency-seconds", type=float, default=20.0)
    eos.add_argument("--latency-rate", type=float, default=0.0,
                     help="articles/s in the latency measure (default 0: half the at_least_once median rate)")
    eos.add_argument("--kills", type=int, default=2, help="kill -9 rounds per worker (0: skip)")
    eos.add_argument("--kill-articles", type=int, default=256, help="articles in each kill -9 flow")
    eos.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [f"command:   bench/engines.py {' '.join(sys.argv[1:] if argv is None else argv)}",
              f"date:      {date}", f"machine:   {machine_line()}", f"software:  {software_line()}"]
    lines = startup(args) if args.command == "startup" else guarantee(args)
    print("\n----- summary -----")
    print("\n".join(header + [f"ready mark: {READY_MARK}"] + lines + [f"load average after: {machine_line()}"]))
    print("-------------------")
    return 0


if __name__ == "__main__":
    sys.exit(main())
