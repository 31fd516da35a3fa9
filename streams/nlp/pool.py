"""Worker processes that keep the spaCy models loaded, so NLP never blocks the Faust event loop.

Spawned (not forked: the parent runs an event loop and Kafka client threads) and ignoring SIGINT, so that
Ctrl-C reaches the Faust worker, which then shuts the pool down in order. Only small picklable values
cross the process boundary: documents in, Annotation dicts out, never spaCy Docs.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from threadpoolctl import threadpool_limits

from streams.nlp.annotate import Annotator, Document
from streams.records import Annotation

log = logging.getLogger(__name__)
_annotator: Annotator | None = None


def _init_worker(model_specs: dict[str, str], preload: list[str]) -> None:
    global _annotator
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pool already runs one process per core; a BLAS thread pool inside each (numpy's OpenBLAS starts one
    # thread per core for the topic encoder's matrix products) only competes with the other processes and spins:
    # one thread each was ~5% faster in alternating runs (docs/benchmarks.md).
    threadpool_limits(limits=1)
    _annotator = Annotator(model_specs)
    from streams.nlp import models, topics

    for spec in preload:  # load at start-up, not on the first article
        models.load(spec)
    topics.warm_up()


def _annotate_in_worker(documents: list[Document]) -> list[dict[str, Any]]:
    assert _annotator is not None, "pool worker was not initialised"
    return [a.model_dump() for a in _annotator.annotate(documents)]


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


class AnnotatorPool:
    def __init__(self, model_specs: dict[str, str], workers: int, preload: list[str] | None = None,
                 part_size: int | None = None) -> None:
        self.workers = workers
        self.part_size = part_size
        self._initargs = (model_specs, preload or [])
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=self._initargs)

    async def annotate(self, documents: list[Document]) -> list[Annotation]:
        """Split the batch into parts (`split`) and annotate them in parallel, each by whichever worker is free.

        A worker that dies (a model crashing the process, the OOM killer) breaks the whole executor: it is
        replaced with a fresh one and BrokenProcessPool re-raised, so the caller can retry document by document
        and dead-letter only the one that kills a worker, instead of failing everything after it.
        """
        if not documents:
            return []
        loop = asyncio.get_running_loop()
        try:
            results = await asyncio.gather(*(loop.run_in_executor(self.executor, _annotate_in_worker, part)
                                             for part in split(documents, self.workers, self.part_size)))
        except BrokenProcessPool:
            log.error("an annotation worker died; starting a fresh pool")
            broken, self.executor = self.executor, self._start()
            broken.shutdown(wait=False, cancel_futures=True)
            raise
        return [Annotation.model_validate(item) for part in results for item in part]

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
