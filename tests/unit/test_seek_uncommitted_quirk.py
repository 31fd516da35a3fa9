"""Which partitions streams/seek_uncommitted_quirk.py resets after aiokafka's seek_to_committed (the pure part; the
seek itself, on a real Kafka, is tests/integration/test_chaos.py::test_seek_to_committed_leaves_an_uncommitted_...)."""

from __future__ import annotations

from aiokafka.structs import TopicPartition

from streams.seek_uncommitted_quirk import left_in_place


def committed_by_faust(tp: TopicPartition) -> bool:
    return not tp.topic.endswith("-changelog")  # as acks_enabled_for: changelogs are never committed


def test_a_partition_never_committed_or_committed_at_0_was_left_in_place() -> None:
    committed = {TopicPartition("raw", 0): None, TopicPartition("raw", 1): 0, TopicPartition("raw", 2): 131,
                 TopicPartition("raw", 3): 1}
    assert left_in_place(committed, committed_by_faust) == [TopicPartition("raw", 0), TopicPartition("raw", 1)]


def test_partitions_faust_never_commits_keep_their_position() -> None:
    committed = {TopicPartition("app-table-changelog", 0): None, TopicPartition("annotated", 0): None}
    assert left_in_place(committed, committed_by_faust) == [TopicPartition("annotated", 0)]


def test_every_partition_committed_means_nothing_to_reset() -> None:
    assert left_in_place({TopicPartition("raw", p): 10 + p for p in range(4)}, committed_by_faust) == []


def test_install_routes_faust_consumer_thread_seek_through_the_workaround_once() -> None:
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    from streams import seek_uncommitted_quirk

    seek_uncommitted_quirk.install()
    patched = AIOKafkaConsumerThread.seek_to_committed
    seek_uncommitted_quirk.install()  # idempotent: not wrapped twice
    assert AIOKafkaConsumerThread.seek_to_committed is patched
    assert patched.__name__ == "seek_to_committed_or_reset"
