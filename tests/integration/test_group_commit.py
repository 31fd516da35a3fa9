"""An offset commit that lands in a rebalance on the embedded broker (streams/commit_generation.py), over real sockets.

Consumer 1 owns both partitions; consumer 2 joins; consumer 1 commits before its next heartbeat tells it of the
rebalance. noida-db refuses that commit with ILLEGAL_GENERATION where Kafka says REBALANCE_IN_PROGRESS; with the
workaround installed, consumer 1 must keep its member id, and the group must settle with one partition each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from kafka.admin import KafkaAdminClient, NewTopic

from newsdesk.bootstrap import wait_for_port
from streams import commit_generation
from tests.integration.test_elasticsearch import start_noida

pytestmark = pytest.mark.integration
TOPIC = "commit-during-rebalance"


@pytest.fixture
def bootstrap(tmp_path: Path) -> Iterator[str]:
    child, settings = start_noida(tmp_path)
    wait_for_port("127.0.0.1", settings.embedded_kafka_port, 30)
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap)
    admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])
    admin.close()
    yield settings.bootstrap
    child.stop(60)


def consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id="commit-test", enable_auto_commit=False,
                            heartbeat_interval_ms=3000, session_timeout_ms=30000)


async def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return False


def test_a_commit_refused_in_a_rebalance_keeps_the_member_and_the_group_settles(bootstrap: str) -> None:
    commit_generation.install(True)

    async def run() -> None:
        first, second = consumer(bootstrap), consumer(bootstrap)
        await first.start()
        try:
            assert await wait_for(lambda: len(first.assignment()) == 2, 30), "consumer 1 never got both partitions"
            member = first._coordinator.member_id
            joining = asyncio.create_task(second.start())
            await asyncio.sleep(0.5)  # consumer 2's JoinGroup is in; consumer 1's next heartbeat is up to 3 s away
            with pytest.raises(KafkaError):  # the commit lands in the rebalance and is refused
                await first.commit({TopicPartition(TOPIC, 0): 0})
            assert first._coordinator.member_id == member, "a refused commit must not cost the member its id"
            await joining
            settled = await wait_for(lambda: len(first.assignment()) == 1 and len(second.assignment()) == 1, 30)
            assert settled, (f"group did not settle: {first.assignment()} / {second.assignment()}")
        finally:
            await second.stop()
            await first.stop()

    asyncio.run(run())
