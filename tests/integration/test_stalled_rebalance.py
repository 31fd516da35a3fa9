"""A worker stuck in a rebalance stops itself, and `newsdesk up` starts a fresh one (streams/stall.py).

To hold a rebalance still on purpose: a second worker joins the group and is then frozen with SIGSTOP, and a third
one joins. The coordinator waits for the frozen member to rejoin, so host A's rebalance makes no progress. With
NEWSDESK_REBALANCE_STALL_S=5, host A's worker must give up with an error and exit non-zero, and `newsdesk up` must
start a fresh one. On Kafka the coordinator waits for the frozen member up to its rebalance timeout (the
worker's max poll interval, 10 minutes), so without the watchdog host A would wait that long.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Engines, Pipeline, wait_until

pytestmark = pytest.mark.integration

READY = "[^Worker]: Ready"  # once per worker process
REBALANCED = "[^---Recovery]: Worker ready"  # once per completed rebalance


def worker_pids(log: str) -> set[str]:
    """The pids of the worker processes that started (up.log is JSON lines: newsdesk/logs.py)."""
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return {str(e["process"]) for e in events if e.get("event") == "[^Worker]: Starting..."}


def start_worker(pipeline: Pipeline, name: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    data_dir, log_path = tmp_path / name, tmp_path / f"{name}.log"
    data_dir.mkdir()
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "worker", "--loglevel", "info"],
                                   env={**pipeline.env, "NEWSDESK_DATA_DIR": str(data_dir),
                                        "NEWSDESK_REBALANCE_STALL_S": "0"},
                                   stdout=log, stderr=subprocess.STDOUT)
    return process, log_path


def test_a_worker_stuck_in_a_rebalance_is_restarted(
        engines: Engines, tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path / "host-a", engines)
    # a session long enough for the frozen member to hold the rebalance: with the default 15 s Kafka evicts it
    # before host A's watchdog may have looked twice, and the rebalance goes on without it
    pipeline.env.update({"NEWSDESK_REBALANCE_STALL_S": "5", "NEWSDESK_STAGES": '["annotate"]',
                         "NEWSDESK_KAFKA_SESSION_TIMEOUT_S": "60"})
    workers: list[subprocess.Popen[bytes]] = []
    try:
        pipeline.start()
        pipeline.wait_ready(timeout_s=120)
        frozen, frozen_log = start_worker(pipeline, "host-b", tmp_path)
        workers.append(frozen)
        wait_until(lambda: READY in frozen_log.read_text(errors="replace"), 120, "host B to join")
        wait_until(lambda: pipeline.log().count(REBALANCED) >= 2, 60, "host A to finish the rebalance B caused")
        frozen.send_signal(signal.SIGSTOP)
        joiner, _ = start_worker(pipeline, "host-c", tmp_path)
        workers.append(joiner)

        wait_until(lambda: "rebalance stuck for" in pipeline.log(), 90, "host A to notice the stuck rebalance")
        restarted = wait_until(lambda: re.search(r"faust-worker exited with (-?\d+); restarting", pipeline.log()),
                               60, "`newsdesk up` to restart its worker")
        assert restarted.group(1) not in ("0", "None"), "a stuck worker must exit with an error"

        wait_until(lambda: len(worker_pids(pipeline.log())) == 2, 30, "a fresh worker process to start")
    finally:  # killed, not stopped: a worker waiting on a JoinGroup takes up to 60 s to stop, and no data matters
        for process in workers:
            process.kill()
            process.wait(30)
        if pipeline.process is not None:
            for child in pipeline.descendants():
                child.kill()
            pipeline.process.kill()
            pipeline.process.wait(30)
