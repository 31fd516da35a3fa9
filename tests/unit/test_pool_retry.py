"""The pure parts of surviving a dead annotation process (streams/nlp/pool.annotate_each, streams/app release
order); the real pool is in test_pool.py, the real pipeline in tests/integration/test_pool_crash.py."""

from __future__ import annotations

import asyncio
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

from streams.nlp.annotate import Document
from streams.nlp.pool import AnnotationFailed, SharedExclusive, annotate_each
from streams.records import Annotation


def doc(i: int) -> Document:
    return Document(f"d{i}", f"title {i}", "text", "en")


def annotation(document: Document) -> Annotation:
    return Annotation(id=document.id, language="en", language_score=1.0)


class FakePool:
    """Fails as scripted: `breaks` counts the calls (whole batches) that die; `poison` documents always kill
    the process; `raising` documents raise."""

    def __init__(self, breaks: int = 0, poison: frozenset[str] = frozenset(), raising: frozenset[str] = frozenset()):
        self.breaks = breaks
        self.poison = poison
        self.raising = raising
        self.calls: list[tuple[list[str], bool]] = []
        self.ready_waits = 0

    async def annotate(self, documents: list[Document], exclusive: bool = False) -> list[Annotation]:
        self.calls.append(([d.id for d in documents], exclusive))
        if self.breaks:
            self.breaks -= 1
            raise BrokenProcessPool("killed")
        if any(d.id in self.poison for d in documents):
            raise BrokenProcessPool("a poison document")
        if any(d.id in self.raising for d in documents):
            raise ValueError("bad document")
        return [annotation(d) for d in documents]

    async def wait_ready(self) -> None:
        self.ready_waits += 1


def run(pool: FakePool, documents: list[Document]) -> list[Any]:
    return asyncio.run(annotate_each(pool, documents))


def test_a_batch_that_works_is_annotated_in_one_call() -> None:
    pool = FakePool()
    results = run(pool, [doc(i) for i in range(3)])
    assert [r.id for r in results] == ["d0", "d1", "d2"]
    assert pool.calls == [(["d0", "d1", "d2"], False)]


def test_a_killed_process_costs_one_retry_of_the_whole_batch_and_loses_nothing() -> None:
    pool = FakePool(breaks=1)
    results = run(pool, [doc(i) for i in range(3)])
    assert [r.id for r in results] == ["d0", "d1", "d2"]
    assert pool.calls == [(["d0", "d1", "d2"], False), (["d0", "d1", "d2"], True)]
    assert pool.ready_waits == 1


def test_a_batch_broken_twice_is_retried_document_by_document() -> None:
    pool = FakePool(breaks=2)
    results = run(pool, [doc(i) for i in range(3)])
    assert all(isinstance(r, Annotation) for r in results)
    assert pool.calls[2:] == [(["d0"], True), (["d1"], True), (["d2"], True)]


def test_only_the_poison_document_fails_after_failing_alone_repeatedly() -> None:
    pool = FakePool(poison=frozenset({"d1"}))
    results = run(pool, [doc(i) for i in range(3)])
    assert isinstance(results[0], Annotation) and isinstance(results[2], Annotation)
    assert isinstance(results[1], AnnotationFailed)
    assert "failed 3 times on its own" in str(results[1]) and "process died" in str(results[1])
    assert [ids for ids, _ in pool.calls].count(["d1"]) == 3


def test_a_document_that_raises_fails_with_its_reason_and_the_others_are_annotated() -> None:
    pool = FakePool(raising=frozenset({"d0"}))
    results = run(pool, [doc(0), doc(1)])
    assert isinstance(results[0], AnnotationFailed) and "ValueError: bad document" in str(results[0])
    assert isinstance(results[1], Annotation)
    assert pool.ready_waits == 0  # no process died: no pool restart to wait for


def test_a_single_document_batch_killed_once_is_not_given_up() -> None:
    """The old code re-raised a failed batch of one, which crashed the agent."""
    pool = FakePool(breaks=1)
    [result] = run(pool, [doc(0)])
    assert isinstance(result, Annotation)


def test_nothing_to_annotate() -> None:
    assert run(FakePool(), []) == []


def test_exclusive_holders_wait_for_shared_ones_and_keep_the_pool_to_themselves() -> None:
    async def scenario() -> list[str]:
        lock = SharedExclusive()
        order: list[str] = []

        async def shared(name: str, delay: float) -> None:
            async with lock.hold():
                order.append(f"+{name}")
                await asyncio.sleep(delay)
                order.append(f"-{name}")

        async def exclusive(name: str) -> None:
            async with lock.hold(exclusive=True):
                order.append(f"+{name}")
                await asyncio.sleep(0.02)
                order.append(f"-{name}")

        first = asyncio.create_task(shared("a", 0.05))
        await asyncio.sleep(0.01)
        alone = asyncio.create_task(exclusive("x"))
        await asyncio.sleep(0.01)
        late = asyncio.create_task(shared("b", 0.01))  # comes after x asked: waits for x
        await asyncio.gather(first, alone, late)
        return order

    assert asyncio.run(scenario()) == ["+a", "-a", "+x", "-x", "+b", "-b"]


class FakeEvent:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def ack(self) -> bool:
        self.log.append(self.name)
        return True


def test_batches_are_released_in_order_even_when_a_later_one_finishes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later batch acked first would leave a hole in the acked offsets, which Faust's commit can step over."""
    from streams import app

    delays = {"a": 0.05, "b": 0.0}

    async def fake_batch(events: list[FakeEvent]) -> None:
        await asyncio.sleep(delays[events[0].name[0]])

    monkeypatch.setattr(app, "annotate_batch", fake_batch)
    acked: list[str] = []

    async def scenario() -> None:
        first = asyncio.create_task(app.annotate_and_release([FakeEvent(acked, "a1"), FakeEvent(acked, "a2")]))  # type: ignore[list-item]
        second = asyncio.create_task(app.annotate_and_release([FakeEvent(acked, "b1")], first))  # type: ignore[list-item]
        await asyncio.gather(first, second)

    asyncio.run(scenario())
    assert acked == ["a1", "a2", "b1"]


def test_a_batch_whose_results_the_broker_refused_is_done_again_not_released(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams import app

    attempts: list[int] = []

    async def flaky(events: list[FakeEvent]) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("broker unavailable")

    monkeypatch.setattr(app, "annotate_batch", flaky)
    monkeypatch.setattr(app, "RELEASE_BACKOFF_S", (0.0,))
    acked: list[str] = []
    asyncio.run(app.annotate_and_release([FakeEvent(acked, "a1")]))  # type: ignore[list-item]
    assert len(attempts) == 3 and acked == ["a1"]


def test_a_cancelled_earlier_batch_keeps_the_later_one_unreleased(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams import app

    async def slow(events: list[FakeEvent]) -> None:
        await asyncio.sleep(0 if events[0].name == "b1" else 10)

    monkeypatch.setattr(app, "annotate_batch", slow)
    acked: list[str] = []

    async def scenario() -> None:
        first = asyncio.create_task(app.annotate_and_release([FakeEvent(acked, "a1")]))  # type: ignore[list-item]
        second = asyncio.create_task(app.annotate_and_release([FakeEvent(acked, "b1")], first))  # type: ignore[list-item]
        await asyncio.sleep(0.05)
        first.cancel()  # shutdown
        with pytest.raises(asyncio.CancelledError):
            await second

    asyncio.run(scenario())
    assert acked == []
