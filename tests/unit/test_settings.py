"""NEWSDESK_* settings that are validated rather than taken as given."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from newsdesk.settings import STAGES, Settings


def test_every_stage_runs_by_default() -> None:
    assert Settings().stages == list(STAGES)


@pytest.mark.parametrize("stages", ['["annotate"]', '["index"]', '["annotate", "index"]', '["poll", "annotate"]',
                                    '["deliver"]', '["poll", "annotate", "index"]'])
def test_a_worker_may_run_a_subset_of_the_stages(monkeypatch: pytest.MonkeyPatch, stages: str) -> None:
    monkeypatch.setenv("NEWSDESK_STAGES", stages)
    assert Settings().stages == json.loads(stages)


@pytest.mark.parametrize(("stages", "message"), [
    ('["poll"]', "needs 'annotate'"),
    ('["poll", "index"]', "needs 'annotate'"),
    ("[]", "at least one stage"),
    ('["annotate", "translate"]', "Input should be"),
])
def test_impossible_stage_sets_are_refused(monkeypatch: pytest.MonkeyPatch, stages: str, message: str) -> None:
    monkeypatch.setenv("NEWSDESK_STAGES", stages)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_the_worker_compresses_what_it_produces_and_every_client_reads_it() -> None:
    """zstd by default (NEWSDESK_KAFKA_COMPRESSION): aiokafka (Faust) writes it with cramjam, kafka-python
    (`newsdesk reindex`) reads it with zstandard; a missing codec library would fail the worker or reindex."""
    from aiokafka.codec import zstd_encode
    from kafka.codec import zstd_decode

    from streams.app import app

    assert Settings().kafka_compression == "zstd"
    assert app.conf.producer_compression_type == "zstd"
    payload = b'{"title": "Scossa di terremoto in Calabria", "text": "' + b"testo " * 500 + b'"}'
    compressed = zstd_encode(payload)
    assert len(compressed) < len(payload) / 4 and zstd_decode(compressed) == payload


def test_unknown_compression_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_KAFKA_COMPRESSION", "lz4")  # kafka-python would need another library to read it
    with pytest.raises(ValidationError):
        Settings()


def test_the_worker_batches_what_it_produces() -> None:
    """An annotated article is ~10 KB of JSON: with Kafka's 16 KB default every article went alone into its own
    batch (compressed alone, one broker append each); the app's producer must take many per batch."""
    from streams.app import app

    settings = Settings()
    assert app.conf.producer_max_batch_size == settings.kafka_batch_bytes >= 20 * 10_000
    assert app.conf.producer_max_batch_size < app.conf.producer_max_request_size
    assert app.conf.producer_linger == settings.kafka_linger_ms / 1000 > 0


def test_a_batch_larger_than_a_request_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_KAFKA_BATCH_BYTES", str(2 * 1024 * 1024))
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(("stages", "may_lead"), [
    (None, True), ('["index"]', True), ('["deliver"]', False), ('["annotate"]', False),
    ('["poll", "annotate"]', False)])
def test_only_workers_running_the_index_stage_may_be_elected_leader(stages: str | None, may_lead: bool) -> None:
    """The leader runs the index's housekeeping timers (rollover, retention, unused stored queries), registered only
    where "index" runs: a worker without it, elected, would silently stop them."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NEWSDESK_STAGES"}
    if stages:
        env["NEWSDESK_STAGES"] = stages
    done = subprocess.run([sys.executable, "-c", "from streams.app import app; print(app.conf.topic_disable_leader)"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(not may_lead)


def test_the_growing_tables_live_on_disk_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().table_store == "rocksdb"
    monkeypatch.setenv("NEWSDESK_TABLE_STORE", "memory")
    assert Settings().table_store == "memory"
    monkeypatch.setenv("NEWSDESK_TABLE_STORE", "redis")
    with pytest.raises(ValidationError):
        Settings()
