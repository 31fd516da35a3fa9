"""Long outages the chaos tests cannot afford: the search engine frozen for minutes, and a full disk.

    .venv/bin/python bench/outages.py search-freeze [--minutes 5] [--rate 2]
    .venv/bin/python bench/outages.py disk-full [--size-mb 2048] [--full-seconds 180] [--rate 2]
    .venv/bin/python bench/outages.py stop-without-kafka [--flow-seconds 20] [--rate 5]

Both start `newsdesk up` as a user does (embedded Kafka and OpenSearch JVMs, every stage) on a fresh data dir,
warm it up with a few articles, then produce articles at --rate per second with kafka-python (acks=all) through
the outage and after it. An article counts as *accepted* when the broker acknowledged it; every accepted article
must end up indexed exactly once (ids checked one by one in the index, duplicates across indices included).

`search-freeze`: SIGSTOP on the OpenSearch JVM for --minutes, then SIGCONT. A frozen engine is the harder case
than a refused connection: requests hang until their timeout instead of failing at once (refused connections and
a killed JVM are in the test suite). Every 10 s: the resident memory of each process of `up` by role, the worker's
open files, what was annotated, and how long `newsdesk status --json` takes. Then the time from SIGCONT until
every accepted article is searchable.

`disk-full`: the data dir is a tmpfs of --size-mb (needs root for `mount`; `up`'s own log stays outside it).
After the warm-up a filler file takes every free byte for --full-seconds while articles keep coming; then the
filler is deleted. Reports which produces were refused (not accepted: the producer got an error, the caller
knows), what `up` logged (engines dying and restarted with backoff), and the time from freeing the disk until
every accepted article is searchable once.

`stop-without-kafka`: articles flow for --flow-seconds, then the Kafka JVM is killed (SIGKILL) and `up` gets SIGTERM
0.3 s later, before it can restart Kafka: how long the stop takes (the worker cannot commit without Kafka) and
whether any process is left. Then `up` starts again on the same data dir, and every accepted article must be
indexed exactly once (what the worker had not committed is done again).

Results go to docs/reliability.md. Noisy shared machine: the recovery times are indications, the counts are the
result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil
from kafka import KafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsing import cpu_model  # noqa: E402  (bench/ is on sys.path when a bench script runs)
from pipeline_throughput import Pipeline, TopicCounter, _role, make_articles, wait_until  # noqa: E402

from tests.integration.conftest import ids_indexed  # noqa: E402

SAMPLE_S = 10.0
MIB = 1024 * 1024


class PacedProducer(threading.Thread):
    """Produces articles at a steady rate until stopped, one request each, and records which were acknowledged:
    an article the broker refused is not accepted (its producer knows), so it is not owed to the index."""

    def __init__(self, bootstrap: str, topic: str, rate: float, prefix: str) -> None:
        super().__init__(daemon=True)
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=3, request_timeout_ms=15000,
                                      delivery_timeout_ms=30000, max_block_ms=15000)
        self.topic, self.rate, self.prefix = topic, rate, prefix
        self.accepted: list[str] = []
        self.refused: Counter[str] = Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        number, started = 0, time.monotonic()
        while not self.halt.is_set():
            delay = started + number / self.rate - time.monotonic()
            if delay > 0 and self.halt.wait(delay):
                break
            article = make_articles(1, 120, seed=number, prefix=f"{self.prefix}-{number:05d}", language="it")[0]
            number += 1
            try:
                self.producer.send(self.topic, key=article.id.encode(), value=article.to_bytes()).get(timeout=60)
                self.accepted.append(article.id)
            except Exception as exc:  # the experiment's subject: a refused produce is counted, not fatal
                self.refused[type(exc).__name__] += 1

    def stop(self) -> None:
        self.halt.set()
        self.join(120)
        try:
            self.producer.close(timeout=10)
        except Exception as exc:  # a broker still down: what it holds was never acknowledged, so never accepted
            print(f"producer close: {exc}", flush=True)


def processes_by_role(pipeline: Pipeline) -> dict[str, list[psutil.Process]]:
    assert pipeline.process is not None
    found: dict[str, list[psutil.Process]] = defaultdict(list)
    root = psutil.Process(pipeline.process.pid)
    for process in [root, *root.children(recursive=True)]:
        found[_role(process) if process.pid != root.pid else "newsdesk up"].append(process)
    return found


def memory_by_role(pipeline: Pipeline) -> dict[str, float]:
    """Resident MiB per role (a role's processes summed)."""
    memory: dict[str, float] = {}
    for role, processes in processes_by_role(pipeline).items():
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        memory[role] = total / MIB
    return memory


def worker_open_files(pipeline: Pipeline) -> int | None:
    for process in processes_by_role(pipeline).get("faust worker", []):
        try:
            return process.num_fds()
        except psutil.Error:
            return None
    return None


def status_seconds(pipeline: Pipeline) -> tuple[float, str]:
    """How long `newsdesk status --json` takes, and what it says of the search engine."""
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "newsdesk.cli", "status", "--json"], env=pipeline.env,
                                capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, "timed out after 60 s"
    seconds = time.monotonic() - started
    try:
        report = json.loads(result.stdout)
        services = report.get("services", report)
        search = next((value for key, value in services.items() if "search" in key or "opensearch" in key), None)
        return seconds, json.dumps(search)[:120] if search is not None else f"exit {result.returncode}"
    except (ValueError, AttributeError):
        return seconds, f"exit {result.returncode}: {result.stderr.strip()[-120:]}"


def warm_up(pipeline: Pipeline) -> None:
    producer = KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all")
    for article in make_articles(16, 120, seed=1, prefix="warm", language="it"):
        producer.send(pipeline.topic_raw, key=article.id.encode(), value=article.to_bytes())
    producer.flush()
    producer.close()
    wait_until(lambda: pipeline.es_count() >= 16, 600, "the warm-up articles to be indexed", interval_s=1)


def indexed_once(pipeline: Pipeline, ids: list[str]) -> tuple[int, int, int]:
    """(indexed, lost, duplicated) of the accepted ids."""
    counts = Counter(ids_indexed(pipeline.search_url, pipeline.alias))
    indexed = sum(1 for i in ids if counts[i] >= 1)
    return indexed, len(ids) - indexed, sum(1 for i in ids if counts[i] > 1)


def await_all(pipeline: Pipeline, ids: list[str], timeout_s: float) -> float | None:
    """Seconds until every id is searchable, or None on timeout."""
    started = time.monotonic()
    try:
        wait_until(lambda: indexed_once(pipeline, ids)[1] == 0, timeout_s, "every accepted article indexed",
                   interval_s=2)
    except Exception:
        return None
    return time.monotonic() - started


def sample_loop(pipeline: Pipeline, counter: TopicCounter, seconds: float, label: str,
                extra: Callable[[], str] | None = None) -> list[dict[str, float]]:
    """Samples memory, open files and progress every SAMPLE_S for `seconds`, printing a line each time."""
    samples, started = [], time.monotonic()
    while time.monotonic() - started < seconds:
        memory = memory_by_role(pipeline)
        samples.append(memory)
        try:
            annotated: int | str = counter.count(pipeline.topic_annotated)
        except Exception as exc:  # Kafka down is one of the states sampled
            annotated = f"? ({type(exc).__name__})"
        line = (f"  {label} {time.monotonic() - started:5.0f}s: annotated {annotated}, worker fds "
                f"{worker_open_files(pipeline)}, RSS MiB " + ", ".join(f"{role} {mib:.0f}" for role, mib in
                                                                        sorted(memory.items())))
        print(line + (f"; {extra()}" if extra else ""), flush=True)
        time.sleep(max(0.0, SAMPLE_S - (time.monotonic() - started) % SAMPLE_S))
    return samples


def memory_summary(before: dict[str, float], during: list[dict[str, float]], after: dict[str, float]) -> str:
    lines = ["| process | RSS before (MiB) | max during (MiB) | after (MiB) |", "|---|---:|---:|---:|"]
    for role in sorted(before):
        peak = max((sample.get(role, 0.0) for sample in during), default=0.0)
        lines.append(f"| {role} | {before[role]:.0f} | {peak:.0f} | {after.get(role, 0.0):.0f} |")
    return "\n".join(lines)


def restarts(log: str) -> Counter[str]:
    """Restarts by `up`, by service, from its JSON log lines (newsdesk/logs.py)."""
    found: Counter[str] = Counter()
    for line in log.splitlines():
        try:
            event = str(json.loads(line).get("event", ""))
        except ValueError:
            continue
        if " exited with " in event and "restarting" in event:
            found[event.split(" exited with")[0].split()[-1]] += 1
    return found


def header(what: str) -> None:
    print(f"# bench/outages.py {what}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
          f"({cpu_model()}), Python {platform.python_version()}", flush=True)


def fresh_pipeline(what: str) -> tuple[Path, Pipeline]:
    """The run's header, and `up` on a fresh work dir (not started)."""
    header(what)
    work = Path(tempfile.mkdtemp(prefix="newsdesk-outage-"))
    return work, Pipeline(work / "data", nlp_workers=2, indexing=True)


def start_warm(pipeline: Pipeline) -> None:
    pipeline.start()
    print(f"ready in {pipeline.wait_ready(600):.0f} s", flush=True)
    warm_up(pipeline)


def search_freeze(args: argparse.Namespace) -> int:
    work, pipeline = fresh_pipeline(f"search-freeze --minutes {args.minutes} --rate {args.rate}")
    producer: PacedProducer | None = None
    try:
        start_warm(pipeline)
        counter = TopicCounter(pipeline.bootstrap)
        before = memory_by_role(pipeline)
        engine = pipeline.jvms()["opensearch JVM"]
        producer = PacedProducer(pipeline.bootstrap, pipeline.topic_raw, args.rate, "freeze")
        producer.start()
        engine.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        print(f"OpenSearch JVM {engine.pid} frozen (SIGSTOP) for {args.minutes} min", flush=True)

        def status_line() -> str:
            seconds, search = status_seconds(pipeline)
            return f"status --json {seconds:.1f} s (search: {search})"

        during = sample_loop(pipeline, counter, args.minutes * 60, "frozen", status_line)
        backlog = list(producer.accepted)
        engine.send_signal(signal.SIGCONT)
        thawed_at = time.monotonic()
        print(f"thawed after {thawed_at - frozen_at:.0f} s; {len(backlog)} accepted meanwhile", flush=True)
        caught_up = await_all(pipeline, backlog, 900)
        print(f"the backlog searchable {caught_up:.0f} s after SIGCONT" if caught_up is not None
              else "the backlog NOT searchable within 900 s", flush=True)
        during += sample_loop(pipeline, counter, 30, "after")
        producer.stop()
        recovery = await_all(pipeline, producer.accepted, 900)
        since_thaw = caught_up if recovery is not None else None
        after = memory_by_role(pipeline)
        indexed, lost, duplicated = indexed_once(pipeline, producer.accepted)
        log = pipeline.log()
        print("\n## Result")
        print(f"accepted {len(producer.accepted)}, refused {dict(producer.refused)}, indexed {indexed}, lost {lost}, "
              f"duplicated {duplicated}")
        print(f"the outage's backlog searchable {since_thaw:.0f} s after SIGCONT" if since_thaw is not None
              else "NOT every accepted article was searchable within 900 s")
        print(f"restarts by `up`: {dict(restarts(log)) or 'none'}; log lines during the run: "
              f"{len(log.splitlines())}")
        print(memory_summary(before, during, after))
        return 0 if lost == 0 and duplicated == 0 and since_thaw is not None else 1
    finally:
        if producer is not None and producer.is_alive():
            producer.stop()
        for process in processes_by_role(pipeline).get("opensearch JVM", []) if pipeline.alive() else []:
            process.send_signal(signal.SIGCONT)
        code, seconds = pipeline.stop(180)
        print(f"`up` stopped with {code} in {seconds:.1f} s")
        if code is None:
            pipeline.kill()
        shutil.rmtree(work, ignore_errors=True)


def fill(path: Path) -> int:
    """Takes every free byte under path's file system; returns how many."""
    free = shutil.disk_usage(path.parent).free
    with open(path, "wb") as filler:
        try:
            os.posix_fallocate(filler.fileno(), 0, free)
        except OSError:
            pass
        chunk = b"\0" * MIB
        try:
            while True:  # what fallocate left (block rounding, or no fallocate on this file system)
                filler.write(chunk)
                filler.flush()
        except OSError:
            pass
    return path.stat().st_size


def disk_full(args: argparse.Namespace) -> int:
    header(f"disk-full --size-mb {args.size_mb} --full-seconds {args.full_seconds} --rate {args.rate}")
    if os.geteuid() != 0:
        print("disk-full mounts a tmpfs: run it as root (or in a throwaway container)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="newsdesk-diskfull-"))
    mount = work / "data"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size_mb}m", "tmpfs", str(mount)], check=True)
    pipeline = Pipeline(mount, nlp_workers=2, indexing=True)
    pipeline.log_path = work / "up.log"  # the log must not be what fills, nor what fails
    producer: PacedProducer | None = None
    filler = mount / "filler"
    try:
        pipeline.start()
        print(f"ready in {pipeline.wait_ready(600):.0f} s", flush=True)
        warm_up(pipeline)
        counter = TopicCounter(pipeline.bootstrap)
        log_before = len(pipeline.log())
        producer = PacedProducer(pipeline.bootstrap, pipeline.topic_raw, args.rate, "full")
        producer.start()
        time.sleep(10)
        taken = fill(filler)
        full_at = time.monotonic()
        print(f"filled: {taken / MIB:.0f} MiB filler, {shutil.disk_usage(mount).free} bytes free", flush=True)

        def progress() -> str:
            return f"accepted {len(producer.accepted)}, refused {sum(producer.refused.values())}"

        sample_loop(pipeline, counter, args.full_seconds, "full", progress)
        backlog = list(producer.accepted)
        filler.unlink()
        freed_at = time.monotonic()
        print(f"freed after {freed_at - full_at:.0f} s; {len(backlog)} accepted so far", flush=True)
        caught_up = await_all(pipeline, backlog, 900)
        print(f"those searchable {caught_up:.0f} s after the disk was freed" if caught_up is not None
              else "those NOT searchable within 900 s", flush=True)
        sample_loop(pipeline, counter, 30, "freed", progress)
        producer.stop()
        recovery = await_all(pipeline, producer.accepted, 900)
        since_free = caught_up if recovery is not None else None
        indexed, lost, duplicated = indexed_once(pipeline, producer.accepted)
        log = pipeline.log()[log_before:]
        print("\n## Result")
        print(f"accepted {len(producer.accepted)}, refused {dict(producer.refused)}, indexed {indexed}, lost {lost}, "
              f"duplicated {duplicated}")
        print(f"what was accepted until then searchable {since_free:.0f} s after the disk was freed"
              if since_free is not None else "NOT every accepted article was searchable within 900 s")
        print(f"restarts by `up`: {dict(restarts(log)) or 'none'}; `up` alive at the end: {pipeline.alive()}")
        flagged = [line for line in log.splitlines() if any(mark in line for mark in
                                                             ("No space", "ERROR", "exited with", "CRITICAL"))]
        print(f"{len(flagged)} error lines in `up`'s log; the first 12:")
        for line in flagged[:12]:
            print("   ", line[:240])
        return 0 if lost == 0 and duplicated == 0 and since_free is not None else 1
    finally:
        if producer is not None and producer.is_alive():
            producer.stop()
        filler.unlink(missing_ok=True)
        code, seconds = pipeline.stop(180)
        print(f"`up` stopped with {code} in {seconds:.1f} s")
        if code is None:
            pipeline.kill()
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(work, ignore_errors=True)


def stop_without_kafka(args: argparse.Namespace) -> int:
    work, pipeline = fresh_pipeline(f"stop-without-kafka --flow-seconds {args.flow_seconds} --rate {args.rate}")
    producer: PacedProducer | None = None
    try:
        start_warm(pipeline)
        producer = PacedProducer(pipeline.bootstrap, pipeline.topic_raw, args.rate, "stop")
        producer.start()
        time.sleep(args.flow_seconds)
        producer.stop()
        processes = processes_by_role(pipeline)
        below = [p for role, found in processes.items() if role != "newsdesk up" for p in found]
        indexed_before, _, _ = indexed_once(pipeline, producer.accepted)
        kafka = pipeline.jvms()["kafka JVM"]
        kafka.kill()
        time.sleep(0.3)
        code, seconds = pipeline.stop(300)
        left = [p.pid for p in below if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        print(f"accepted {len(producer.accepted)}, indexed {indexed_before} when Kafka was killed; `up` stopped with "
              f"{code} in {seconds:.1f} s; processes left: {left or 'none'}", flush=True)
        stop_lines = [line for line in pipeline.log().splitlines() if "to stop instead of" in line
                      or "did not stop within" in line]
        print("\n".join(stop_lines[-3:]), flush=True)
        pipeline.start()
        print(f"started again, ready in {pipeline.wait_ready(600):.0f} s", flush=True)
        recovery = await_all(pipeline, producer.accepted, 600)
        indexed, lost, duplicated = indexed_once(pipeline, producer.accepted)
        print("\n## Result")
        print(f"stop took {seconds:.1f} s (exit {code}), processes left {len(left)}; after the restart: accepted "
              f"{len(producer.accepted)}, indexed {indexed}, lost {lost}, duplicated {duplicated}"
              + (f", all searchable {recovery:.0f} s after ready" if recovery is not None else ""))
        return 0 if code == 0 and not left and lost == 0 and duplicated == 0 else 1
    finally:
        if producer is not None and producer.is_alive():
            producer.stop()
        code, seconds = pipeline.stop(180)
        if code is None:
            pipeline.kill()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    freeze = commands.add_parser("search-freeze")
    freeze.add_argument("--minutes", type=float, default=5.0)
    freeze.add_argument("--rate", type=float, default=2.0, help="articles per second, through the outage")
    full = commands.add_parser("disk-full")
    full.add_argument("--size-mb", type=int, default=2048)
    full.add_argument("--full-seconds", type=float, default=180.0)
    full.add_argument("--rate", type=float, default=2.0)
    stop = commands.add_parser("stop-without-kafka")
    stop.add_argument("--flow-seconds", type=float, default=20.0)
    stop.add_argument("--rate", type=float, default=5.0)
    args = parser.parse_args()
    run = {"search-freeze": search_freeze, "disk-full": disk_full, "stop-without-kafka": stop_without_kafka}
    return run[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
