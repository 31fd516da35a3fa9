"""A spaCy pool process killed while articles flow (issue 18, defects 2 and 3), on the session's real Kafka and
OpenSearch under `newsdesk up`: nothing accepted is lost or indexed twice, nothing good is dead-lettered, and a
SIGKILLed worker leaves no model process (nor resource_tracker) behind.

The tests run in file order against one pipeline."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import psutil
import pytest
from kafka import KafkaConsumer, KafkaProducer

from streams.records import Article, DeadLetter
from tests.integration.conftest import Engines, Pipeline, ids_indexed, wait_until

POOL_REPLACED = "an annotation worker died; starting a fresh pool"  # logged once per pool process death
killed: list[int] = []  # the pool processes this module's pipeline had killed, in order
TEXT = ("The mayor of Lisbon, Carlos Moedas, met the Portuguese prime minister in Porto on Tuesday to discuss "
        "the new harbour, the railway to Madrid and the budget of the European Commission. ") * 6


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, engines: Engines) -> Iterator[Pipeline]:
    running = Pipeline(tmp_path_factory.mktemp("pool-crash"), engines)
    running.env["NEWSDESK_NLP_WORKERS"] = "2"
    running.start()
    try:
        running.wait_ready(180)
        yield running
    finally:
        if running.process and running.process.poll() is None:
            running.stop()


def cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return ""


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def the_worker(pipeline: Pipeline) -> psutil.Process:
    [worker] = [p for p in pipeline.descendants() if "streams.worker" in cmdline(p) and alive(p)]
    return worker


def pool_processes(worker: psutil.Process) -> list[psutil.Process]:
    """The worker's spawned children: a spawned multiprocessing child runs `spawn_main(...)
    --multiprocessing-fork`; the resource_tracker (also a child) runs `resource_tracker`."""
    try:
        children = worker.children()
    except psutil.NoSuchProcess:
        return []
    return [p for p in children if "spawn_main" in cmdline(p) and alive(p)]


def resource_trackers(worker: psutil.Process) -> list[psutil.Process]:
    try:
        children = worker.children()
    except psutil.NoSuchProcess:
        return []
    return [p for p in children if "resource_tracker" in cmdline(p) and alive(p)]


def produce(pipeline: Pipeline, prefix: str, count: int, extra: list[bytes] | None = None) -> list[str]:
    now = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all")
    ids = []
    for i in range(count):
        article = Article(id=f"{prefix}-{i:04d}", title=f"Crash test {prefix} {i}: Lisbon harbour",
                          text=f"{TEXT} Number {i}.", fetched_at=now, feed_url="test://pool-crash",
                          content_hash=f"{prefix}{i}", feed_language="en")
        producer.send(pipeline.topic("articles.raw"), key=article.id.encode(), value=article.to_bytes())
        ids.append(article.id)
    for value in extra or []:
        producer.send(pipeline.topic("articles.raw"), key=b"bad-input", value=value)
    producer.flush()
    producer.close()
    return ids


def dead_letters(pipeline: Pipeline) -> list[DeadLetter]:
    consumer = KafkaConsumer(pipeline.topic("articles.dead"), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
    letters = [DeadLetter.model_validate_json(m.value) for m in consumer]
    consumer.close()
    return letters


def indexed(pipeline: Pipeline, ids: list[str]) -> int:
    return pipeline.count(ids={"values": ids})


def kill_a_pool_process_while_flowing(pipeline: Pipeline, ids: list[str]) -> bool:
    """Waits for the pool to be busy with these articles, SIGKILLs one of its processes; True if it was mid-flow."""
    worker = the_worker(pipeline)
    wait_until(lambda: len(pool_processes(worker)) == 2, 120, "two pool processes")
    wait_until(lambda: indexed(pipeline, ids) > 0, 120, "the first articles indexed", interval_s=0.2)
    victim = pool_processes(worker)[0]
    done_before = indexed(pipeline, ids)
    os.kill(victim.pid, signal.SIGKILL)
    killed.append(victim.pid)
    print(f"killed pool process {victim.pid} with {done_before}/{len(ids)} indexed")
    return done_before < len(ids)


def assert_all_indexed_once(pipeline: Pipeline, ids: list[str], timeout_s: float = 240) -> None:
    wait_until(lambda: indexed(pipeline, ids) == len(ids), timeout_s, f"all {len(ids)} articles indexed")
    counts = Counter(i for i in ids_indexed(pipeline.engines.search_url, pipeline.alias) if i in set(ids))
    assert set(counts) == set(ids)
    assert [i for i, n in counts.items() if n > 1] == []


def test_a_killed_pool_process_loses_no_article(pipeline: Pipeline) -> None:
    ids = produce(pipeline, "kill1", 300, extra=[b"{not json"])
    mid_flow = kill_a_pool_process_while_flowing(pipeline, ids)
    assert_all_indexed_once(pipeline, ids)
    assert mid_flow, "the kill came after every article was indexed: it tested nothing"
    assert POOL_REPLACED in pipeline.log()
    letters = dead_letters(pipeline)
    assert [letter.key for letter in letters] == ["bad-input"], [(d.key, d.error) for d in letters]
    assert "Crashed reason" not in pipeline.log()  # how Faust logs an agent that raised


def nudge(pipeline: Pipeline, name: str) -> list[str]:
    """A small batch after a round's kill, every article of the round indexed: a pool process killed after the
    round's last part is found dead only when a part is next handed to it (or to its broken pool), which this batch
    does, so every kill so far is noticed, and its pool replaced, before the next step."""
    ids = produce(pipeline, name, 4)
    assert_all_indexed_once(pipeline, ids)
    wait_until(lambda: pipeline.log().count(POOL_REPLACED) == len(killed), 30,
               f"{len(killed)} pool replacements in the log, one per kill")
    return ids


def test_it_keeps_going_after_two_more_kills(pipeline: Pipeline) -> None:
    everything = nudge(pipeline, "nudge1")  # the first test's kill: noticed, once
    for round_ in (2, 3):
        ids = produce(pipeline, f"kill{round_}", 200)
        everything += ids
        kill_a_pool_process_while_flowing(pipeline, ids)
        assert_all_indexed_once(pipeline, ids)
        everything += nudge(pipeline, f"nudge{round_}")
    assert_all_indexed_once(pipeline, everything)
    assert [letter.key for letter in dead_letters(pipeline)] == ["bad-input"]
    log = pipeline.log()
    assert log.count(POOL_REPLACED) == len(killed)  # each kill noticed once: one fresh pool per kill
    assert "Crashed reason" not in log


def test_a_killed_worker_leaves_no_pool_process_behind(pipeline: Pipeline) -> None:
    worker = the_worker(pipeline)
    # after the previous test's nudge: its last kill was noticed, and this is the fresh pool's process(es)
    wait_until(lambda: len(pool_processes(worker)) >= 1, 120, "the pool processes")
    orphans = pool_processes(worker) + resource_trackers(worker)
    assert resource_trackers(worker), "expected the worker's multiprocessing resource_tracker"
    os.kill(worker.pid, signal.SIGKILL)
    started = time.monotonic()
    wait_until(lambda: not [p for p in orphans if alive(p)], 10, "the pool processes and resource_tracker to exit",
               interval_s=0.1)
    print(f"{len(orphans)} pool/tracker processes gone {time.monotonic() - started:.1f}s after the worker's SIGKILL")
