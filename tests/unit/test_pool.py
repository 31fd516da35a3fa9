"""The annotation process pool: real worker processes, real models."""

import asyncio
import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from newsdesk.settings import DEFAULT_MODELS
from streams.nlp.annotate import Document
from streams.nlp.pool import AnnotatorPool

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
