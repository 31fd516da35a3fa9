"""The annotation process pool: real worker processes, real models."""

import asyncio
import functools
import json
import logging
import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from newsdesk import logs
from newsdesk.settings import DEFAULT_MODELS
from streams.nlp.annotate import Document
from streams.nlp.pool import AnnotatorPool, split

DOCS = [Document(f"d{i}", "Macron meets Scholz in Berlin", "The French president travelled to Germany.", "en")
        for i in range(4)]


def test_pool_annotates_and_survives_a_dead_worker() -> None:
    pool = AnnotatorPool(DEFAULT_MODELS, workers=2)

    async def run() -> None:
        first = await pool.annotate(DOCS)
        assert [a.id for a in first] == ["d0", "d1", "d2", "d3"]
        assert {"PER", "LOC"} <= {e.type for e in first[0].entities}
        victim = next(iter(pool.executor._processes))  # what a crashing model or the OOM killer does
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            await pool.annotate(DOCS)
        again = await pool.annotate(DOCS)  # a fresh pool took over
        assert [a.id for a in again] == ["d0", "d1", "d2", "d3"]

    try:
        asyncio.run(run())
    finally:
        pool.close()


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_pool_workers_use_one_blas_thread_each() -> None:
    """One process per core already: BLAS threads inside them would only compete (see pool._init_worker)."""
    pool = AnnotatorPool({"*": DEFAULT_MODELS["en"], "en": DEFAULT_MODELS["en"]}, workers=1)
    try:
        threads = pool.executor.submit(_blas_threads).result(timeout=300)
    finally:
        pool.close()
    assert threads and set(threads) == {1}


def _a_warning_as_logged() -> str:
    handlers = logging.getLogger().handlers
    record = logging.LogRecord("streams.nlp.pool", logging.WARNING, __file__, 1, "a warning in %s", ("a pool",), None)
    return handlers[0].format(record) if handlers else ""


def test_pool_processes_log_in_the_workers_format() -> None:
    """A spawned process starts with no log handler: without the setup, its warnings would be bare stderr text."""
    pool = AnnotatorPool({"*": DEFAULT_MODELS["en"], "en": DEFAULT_MODELS["en"]}, workers=1,
                         setup_logging=functools.partial(logs.setup, "info", "json"))
    try:
        line = pool.executor.submit(_a_warning_as_logged).result(timeout=300)
    finally:
        pool.close()
    entry = json.loads(line)
    assert entry["event"] == "a warning in a pool"
    assert entry["level"] == "warning"


@pytest.mark.parametrize(("count", "workers", "part_size", "sizes"), [
    (64, 2, 16, [16, 16, 16, 16]),
    (40, 2, 16, [14, 13, 13]),
    (10, 2, 16, [5, 5]),  # small batches still use every worker
    (1, 2, 16, [1]),
    (0, 2, 16, []),
    (7, 4, 100, [2, 2, 2, 1]),
    (33, 1, 32, [17, 16]),
    (64, 2, None, [32, 32]),  # the default: one part per worker
    (7, 2, None, [4, 3]),
    (1, 2, None, [1]),
])
def test_batches_are_split_into_even_parts_of_bounded_size(count: int, workers: int, part_size: int | None,
                                                           sizes: list[int]) -> None:
    documents = [Document(f"d{i}", "", "") for i in range(count)]
    parts = split(documents, workers, part_size)
    assert [len(part) for part in parts] == sizes
    assert [d for part in parts for d in part] == documents  # in order, each once
