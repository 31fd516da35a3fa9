"""Worker processes that keep the spaCy models loaded, so NLP never blocks the Faust event loop.

Spawned (not forked: the parent runs an event loop and Kafka client threads) and ignoring SIGINT, so that
Ctrl-C reaches the Faust worker, which then shuts the pool down in order. Only small picklable values
cross the process boundary: documents in, Annotation dicts out, never spaCy Docs.

A pool process dies with its parent (`_die_with_parent`): a SIGKILLed worker leaves no ~500 MB model process
behind, and no multiprocessing resource_tracker either (it exits once no process holds its pipe).
A pool process that dies (a model crashing it, the OOM killer, a `kill -9`) breaks the whole executor: it is
replaced (`AnnotatorPool.annotate`), and `annotate_each` retries, so that only a document that fails on its own,
repeatedly, is given up (and dead-lettered by the caller).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from typing import Any, Protocol

from threadpoolctl import threadpool_limits

from streams.nlp.annotate import Annotator, Document
from streams.records import Annotation

log = logging.getLogger(__name__)
_annotator: Annotator | None = None

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_WATCH_S = 0.5


def _die_with_parent(parent: int) -> None:
    """Make this pool process end when the process that started it ends, whatever killed that one.

    prctl(PR_SET_PDEATHSIG) asks the kernel for a SIGTERM when the parent *thread* that spawned this process
    exits: ProcessPoolExecutor spawns in the thread that calls submit(), which is the worker's event-loop thread
    (run_in_executor), and that lives as long as the worker. A watch thread covers what prctl cannot (not Linux,
    or a parent gone before prctl ran): it ends the process once os.getppid() is no longer the parent.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:  # pragma: no cover - a libc without prctl
            log.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(model_specs: dict[str, str], preload: list[str], parent: int | None = None,
                 setup_logging: Callable[[], object] | None = None) -> None:
    global _annotator
    if setup_logging is not None:  # a spawned process starts with no handler: its warnings would be bare stderr
        setup_logging()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with_parent(parent)
    # The pool already runs one process per core; a BLAS thread pool inside each (numpy's OpenBLAS starts one
    # thread per core for the topic encoder's matrix products) only competes with the other processes and spins:
    # one thread each was ~5% faster in alternating runs (docs/benchmarks.md).
    threadpool_limits(limits=1)
    _annotator = Annotator(model_specs)
    from streams.nlp import models, topics

    for spec in preload:  # load at start-up, not on the first article
        models.load(spec)
    topics.warm_up()


def _annotate_in_worker(documents: list[Document]) -> tuple[float, list[dict[str, Any]]]:
    """The part's annotations, and how long this process took for them (seconds), for the parent's metrics."""
    assert _annotator is not None, "pool worker was not initialised"
    started = time.perf_counter()
    annotations = [a.model_dump() for a in _annotator.annotate(documents)]
    return time.perf_counter() - started, annotations


def _ping() -> int:
    """Answers once the process's initializer (model loading) has finished."""
    return os.getpid()


def split(documents: list[Document], workers: int, part_size: int | None = None) -> list[list[Document]]:
    """One part per worker, or parts of at most part_size documents but at least one per worker; evenly sized."""
    if not documents:
        return []
    count = min(workers, len(documents))
    if part_size is not None:
        count = max(count, -(-len(documents) // part_size))
    size, extra = divmod(len(documents), count)
    parts, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        parts.append(documents[start:end])
        start = end
    return parts


class SharedExclusive:
    """An asyncio lock with shared holders (batches annotated side by side) and exclusive ones (a document retried
    alone, so that a pool process that dies then was killed by that document, not by another batch's)."""

    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0  # exclusive holders waiting: they go before shared holders that come after them

    @asynccontextmanager
    async def hold(self, exclusive: bool = False) -> AsyncIterator[None]:
        async with self._condition:
            if exclusive:
                self._waiting += 1
                try:
                    await self._condition.wait_for(lambda: not self._exclusive and self._shared == 0)
                finally:
                    self._waiting -= 1
                    self._condition.notify_all()
                self._exclusive = True
            else:
                await self._condition.wait_for(lambda: not self._exclusive and not self._waiting)
                self._shared += 1
        try:
            yield
        finally:
            async with self._condition:
                if exclusive:
                    self._exclusive = False
                else:
                    self._shared -= 1
                self._condition.notify_all()


OnPart = Callable[[list[Annotation], float], None]  # a part's annotations, seconds its pool process took


class AnnotatorPool:
    def __init__(self, model_specs: dict[str, str], workers: int, preload: list[str] | None = None,
                 part_size: int | None = None, restart_backoff_s: float = 1.0,
                 max_restart_backoff_s: float = 60.0, on_part: OnPart | None = None,
                 setup_logging: Callable[[], object] | None = None) -> None:
        """`setup_logging`, picklable (a module function or a functools.partial of one), runs first in each process
        so that the pool logs in the worker's format."""
        self.workers = workers
        self.on_part = on_part
        self.part_size = part_size
        self.restart_backoff_s = restart_backoff_s
        self.max_restart_backoff_s = max_restart_backoff_s
        self._initargs = (model_specs, preload or [], os.getpid(), setup_logging)
        self.generation = 0  # how many times the executor was replaced
        self.executor = self._start()
        self._lock: SharedExclusive | None = None  # made in the event loop that uses the pool

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=self._initargs)

    def pids(self) -> list[int]:
        return list(self.executor._processes or {})  # type: ignore[attr-defined]

    def _replace(self, generation: int) -> None:
        """Start a fresh executor in place of a broken one, once: batches in flight all see the same breakage."""
        if generation != self.generation:
            return
        log.error("an annotation worker died; starting a fresh pool")
        broken, self.executor = self.executor, self._start()
        self.generation += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def lock(self) -> SharedExclusive:
        if self._lock is None:
            self._lock = SharedExclusive()
        return self._lock

    async def annotate(self, documents: list[Document], exclusive: bool = False) -> list[Annotation]:
        """Split the batch into parts (`split`) and annotate them in parallel, each by whichever worker is free.

        A worker that dies breaks the whole executor: it is replaced with a fresh one and BrokenProcessPool
        raised, so the caller can retry (`annotate_each`). A document that raises in a worker raises here.
        `exclusive`: wait until no other batch uses the pool, and keep it to this call.
        """
        if not documents:
            return []
        async with self.lock().hold(exclusive):
            return await self._annotate(documents)

    async def _annotate(self, documents: list[Document]) -> list[Annotation]:
        loop = asyncio.get_running_loop()
        executor, generation = self.executor, self.generation
        futures: list[asyncio.Future[tuple[float, list[dict[str, Any]]]]] = []
        try:
            for part in split(documents, self.workers, self.part_size):
                futures.append(loop.run_in_executor(executor, _annotate_in_worker, part))
        except BrokenProcessPool:  # submit() to an executor already broken
            for future in futures:
                future.cancel()
            self._replace(generation)
            raise
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BrokenProcessPool):
                self._replace(generation)
                raise result
        for result in results:
            if isinstance(result, BaseException):
                raise result
        annotations: list[Annotation] = []
        for seconds, items in results:  # type: ignore[misc]
            done = [Annotation.model_validate(item) for item in items]
            annotations += done
            if self.on_part is not None:
                try:
                    self.on_part(done, seconds)
                except Exception:  # counting must never fail a batch
                    log.exception("on_part callback failed")
        return annotations

    async def wait_ready(self) -> None:
        """Wait until a process of the current pool answers (its models loaded). A pool that cannot even start
        (a model missing, no memory) is restarted with backoff, without end: that is no document's fault."""
        loop = asyncio.get_running_loop()
        delay = self.restart_backoff_s
        while True:
            executor, generation = self.executor, self.generation
            try:
                await loop.run_in_executor(executor, _ping)
                return
            except BrokenProcessPool:
                log.error("the fresh annotation pool could not start; retrying in %.0f s", delay)
                self._replace(generation)
                await asyncio.sleep(delay)
                delay = min(self.max_restart_backoff_s, delay * 2)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


class Pool(Protocol):
    async def annotate(self, documents: list[Document], exclusive: bool = False) -> list[Annotation]: ...

    async def wait_ready(self) -> None: ...


class AnnotationFailed(RuntimeError):
    """A document could not be annotated, alone, after every attempt: the reason to dead-letter it."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return "the annotation process died while annotating it"
    return f"{type(exc).__name__}: {exc}"


async def annotate_each(pool: Pool, documents: list[Document],
                        attempts: int = 3) -> list[Annotation | AnnotationFailed]:
    """Annotate a batch so that no failure escapes: each document gets its Annotation or, when it failed on its
    own `attempts` times, an AnnotationFailed with the reason.

    A dead pool process is no document's fault at first (an OOM kill, a `kill -9`): the batch is retried whole on
    the fresh pool. If it fails again, or a document raised, the documents are retried one at a time, each with
    the pool to itself, so that a failure is that document's own.
    """
    if not documents:
        return []
    try:
        return list(await pool.annotate(documents))
    except BrokenProcessPool:
        broken = True
    except Exception as exc:
        broken = False
        log.warning("annotation of a batch of %d failed (%s); retrying its documents one by one", len(documents),
                    _describe(exc))
    if broken:
        await pool.wait_ready()
        try:
            return list(await pool.annotate(documents, exclusive=True))
        except BrokenProcessPool:
            await pool.wait_ready()
            log.warning("a batch of %d broke the annotation pool twice; retrying its documents one by one",
                        len(documents))
        except Exception as exc:
            log.warning("annotation of a batch of %d failed (%s); retrying its documents one by one",
                        len(documents), _describe(exc))
    results: list[Annotation | AnnotationFailed] = []
    for document in documents:
        results.append(await _annotate_alone(pool, document, attempts))
    return results


async def _annotate_alone(pool: Pool, document: Document, attempts: int) -> Annotation | AnnotationFailed:
    reasons: list[str] = []
    for _ in range(attempts):
        try:
            [annotation] = await pool.annotate([document], exclusive=True)
            return annotation
        except BrokenProcessPool as exc:
            reasons.append(_describe(exc))
            await pool.wait_ready()
        except Exception as exc:
            reasons.append(_describe(exc))
    log.error("document %s failed %d times on its own: %s", document.id, attempts, reasons[-1])
    return AnnotationFailed(f"failed {attempts} times on its own: {reasons[-1]}")
