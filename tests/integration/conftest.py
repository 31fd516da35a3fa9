"""Real services for integration tests: `newsdesk up` (which starts its own noida-db) and a local feed server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from elasticsearch import Elasticsearch

from tests.conftest import FIXTURES, SAMPLES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.5) -> Any:
    """Poll until predicate() is truthy; an exception counts as 'not yet' (services may be restarting)."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last error: {last_error!r})")
        time.sleep(interval_s)


class _FeedHandler(SimpleHTTPRequestHandler):
    """Serves the sample and fixture feeds; /status/404 answers 404; query strings are ignored."""

    def translate_path(self, path: str) -> str:
        name = path.split("?", 1)[0].rsplit("/", 1)[-1]
        for folder in (SAMPLES, FIXTURES / "feeds"):
            if (folder / name).exists():
                return str(folder / name)
        return str(FIXTURES / "feeds" / "does-not-exist")

    def do_GET(self) -> None:
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.rsplit("/", 1)[-1]))
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_FeedHandler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class Pipeline:
    """`newsdesk up` as a user runs it: a child process, stopped with SIGTERM."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.kafka_port, self.es_port, self.samples_port = free_port(), free_port(), free_port()
        self.api_port = free_port()
        self.env = {
            **os.environ,
            "NEWSDESK_DATA_DIR": str(data_dir),
            "NEWSDESK_EMBEDDED_KAFKA_PORT": str(self.kafka_port),
            "NEWSDESK_EMBEDDED_ELASTICSEARCH_PORT": str(self.es_port),
            "NEWSDESK_SAMPLES_PORT": str(self.samples_port),
            "NEWSDESK_API_PORT": str(self.api_port),
            "NEWSDESK_REGISTRY_REFRESH_S": "1",
            "NEWSDESK_POLL_INTERVAL_S": "3",
            # polls every ~3 s whatever the adaptive schedule would do (its logic is unit-tested)
            "NEWSDESK_POLL_MIN_INTERVAL_S": "1",
            "NEWSDESK_POLL_MAX_INTERVAL_S": "3",
            "NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "1",  # the test feed server is on 127.0.0.1
            # a rebalance here takes seconds; one stuck for 30 s restarts the worker within a test's time budget
            # (a table recovery that never received its changelog records was seen in ~1 of 20 two-host runs)
            "NEWSDESK_REBALANCE_STALL_S": "30",
        }
        self.env.pop("NEWSDESK_KAFKA_BOOTSTRAP", None)
        self.env.pop("NEWSDESK_ELASTICSEARCH_URL", None)
        self.log_path = data_dir / "up.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "up", *args], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 60) -> None:
        wait_until(lambda: "[^Worker]: Ready" in self.log(), timeout_s, "the Faust worker to be ready")

    def descendants(self) -> list[psutil.Process]:
        assert self.process is not None
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout_s: float = 180) -> tuple[int, list[psutil.Process]]:
        """SIGTERM `newsdesk up`; returns its exit code and the children that were alive before the stop."""
        assert self.process is not None
        children = self.descendants()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout_s)
        return code, children

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "newsdesk.cli", *args], env=self.env, capture_output=True,
                              text=True, check=check, timeout=120)

    def search(self, *args: str) -> list[dict[str, Any]]:
        result = self.cli("search", *args, "--json", check=False)
        if result.returncode != 0:
            return []
        return [json.loads(line) for line in result.stdout.splitlines()]

    def count(self, **query: Any) -> int:
        es = Elasticsearch(f"http://127.0.0.1:{self.es_port}", request_timeout=30)  # fresh: no node back-off
        es.indices.refresh(index="articles")
        with es:
            return int(es.count(index="articles", query=query or {"match_all": {}})["count"])


def stop_all(pipeline: Pipeline, *workers: subprocess.Popen[bytes] | None) -> None:
    """Test clean-up: extra workers first (SIGTERM), then the pipeline, whatever state a failure left."""
    for worker in workers:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(90)
    if pipeline.process and pipeline.process.poll() is None:
        pipeline.stop()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    running = Pipeline(tmp_path_factory.mktemp("newsdesk"))
    yield running
    if running.process and running.process.poll() is None:
        running.stop()
