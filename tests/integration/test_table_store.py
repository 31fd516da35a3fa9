"""A local table database ahead of its changelog (Kafka wiped or the topic recreated, the data directory kept) is
discarded before the worker starts, against the session's real Kafka; one in step with it is kept."""

from __future__ import annotations

import uuid
from pathlib import Path

import faust
import rocksdict
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.table_store import OFFSET_KEY, discard_stale_partitions, table_options
from tests.integration.conftest import Engines


def write_db(path: Path, offset: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True))
    db.put(b"alert-1|webhook", b'{"state": "sent"}')
    db.put(OFFSET_KEY, str(offset).encode())
    db.close()


def test_a_database_ahead_of_its_changelog_is_discarded_and_one_in_step_kept(engines: Engines,
                                                                              tmp_path: Path) -> None:
    app = faust.App(f"table-store-{uuid.uuid4().hex[:8]}", broker=f"kafka://{engines.bootstrap}",
                    datadir=str(tmp_path / "faust"))
    table = app.Table("ledger", default=None, partitions=3, **table_options("rocksdb", "ledger"))
    topic = table.changelog_topic_name
    admin = KafkaAdminClient(bootstrap_servers=engines.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 3, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=engines.bootstrap)
    for i in range(5):
        producer.send(topic, key=f"alert-{i}|webhook".encode(), value=b'{"state": "sent"}', partition=0)
    producer.flush()
    producer.close()

    paths = {p: table.data.partition_path(p) for p in range(3)}
    write_db(paths[0], 4)        # the changelog's last record: in step
    write_db(paths[1], 7)        # partition 1 of the changelog is empty: written against another changelog
    assert discard_stale_partitions(table, engines.bootstrap) == [1]
    assert paths[0].exists() and not paths[1].exists() and not paths[2].exists()

    write_db(paths[0], 5)        # one past the end
    assert discard_stale_partitions(table, engines.bootstrap) == [0]
    assert discard_stale_partitions(table, engines.bootstrap) == []  # nothing left to compare
