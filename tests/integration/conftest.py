"""Real services for integration tests: Apache Kafka and OpenSearch JVMs started once per test session (by the same
code as `newsdesk up`), `newsdesk up` pointed at them with its own topics, consumer groups and index (so tests
do not see each other's articles), and a local feed server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from newsdesk.engines import embedded_services
from newsdesk.settings import Settings
from newsdesk.supervisor import Supervisor
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


def noida_binary() -> str:
    """noida-db's server binary itself: its console script wrapper dies on SIGTERM and leaves the server running."""
    import noida_db

    return str(Path(noida_db.__file__).parent / "noida-db")


@dataclass
class Engines:
    """The session's Kafka and OpenSearch, supervised: one a test kills is restarted."""

    bootstrap: str
    search_url: str
    supervisor: Supervisor

    def pid(self, name: str) -> int:
        for entry in self.supervisor.running:
            if entry.service.name == name and entry.child.process is not None:
                return entry.child.process.pid
        raise LookupError(name)


def engine_env(data_dir: Path) -> dict[str, str]:
    """Settings for engines of their own, on free ports (used by the session's engines and by tests of `up`)."""
    return {"NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_EMBEDDED_KAFKA_PORT": str(free_port()),
            "NEWSDESK_EMBEDDED_KAFKA_CONTROLLER_PORT": str(free_port()),
            "NEWSDESK_EMBEDDED_OPENSEARCH_PORT": str(free_port())}


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    """Started once: a JVM takes 5-20 s to start on two cores."""
    env = engine_env(tmp_path_factory.mktemp("engines"))
    settings = Settings(**{key.removeprefix("NEWSDESK_").lower(): value for key, value in env.items()})  # type: ignore[arg-type]
    stop = threading.Event()
    supervisor = Supervisor(stop)
    try:
        for service in embedded_services(settings):
            supervisor.start(service)
        watcher = threading.Thread(target=supervisor.watch, name="engines", daemon=True)
        watcher.start()
        yield Engines(settings.bootstrap, settings.es_url, supervisor)
    finally:
        stop.set()
        supervisor.stop_all()


_pipelines = itertools.count(1)


class Pipeline:
    """`newsdesk up` as a user runs it: a child process, stopped with SIGTERM. It uses the session's engines under
    names of its own (topic prefix, Faust app id, index alias)."""

    def __init__(self, data_dir: Path, engines: Engines) -> None:
        self.data_dir = data_dir
        self.engines = engines
        self.samples_port, self.api_port = free_port(), free_port()
        self.name = f"p{next(_pipelines)}-{uuid.uuid4().hex[:6]}"
        self.prefix = f"{self.name}."
        self.alias = f"{self.name}-articles"
        self.env = {
            **os.environ,
            "NEWSDESK_DATA_DIR": str(data_dir),
            "NEWSDESK_KAFKA_BOOTSTRAP": engines.bootstrap,
            "NEWSDESK_ELASTICSEARCH_URL": engines.search_url,
            "NEWSDESK_SEARCH_ENGINE": "opensearch",
            "NEWSDESK_TOPIC_PREFIX": self.prefix,
            "NEWSDESK_APP_ID": f"newsdesk-{self.name}",
            "NEWSDESK_INDEX_ALIAS": self.alias,
            "NEWSDESK_SAMPLES_PORT": str(self.samples_port),
            "NEWSDESK_API_PORT": str(self.api_port),
            # a worker of its own per pipeline (extra workers started with this env log that the port is taken)
            "NEWSDESK_METRICS_PORT": str(free_port()),
            "NEWSDESK_REGISTRY_REFRESH_S": "1",
            "NEWSDESK_POLL_INTERVAL_S": "3",
            # polls every ~3 s whatever the adaptive schedule would do (its logic is unit-tested)
            "NEWSDESK_POLL_MIN_INTERVAL_S": "1",
            "NEWSDESK_POLL_MAX_INTERVAL_S": "3",
            "NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "1",  # the test feed server is on 127.0.0.1
            # a rebalance here takes seconds; one stuck for 30 s restarts the worker within a test's time budget
            "NEWSDESK_REBALANCE_STALL_S": "30",
            # one worker running every stage: these tests kill, stall and count "the worker". `up`'s default (a
            # delivery worker of its own) runs in test_embedded_engines.py (a fresh `up`, every default) and in
            # test_alert_delivery.py::test_up_with_a_delivery_worker_runs_two_workers_and_delivers_once
            "NEWSDESK_DELIVERY_WORKER": "0",
        }
        self.log_path = data_dir / "up.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return self.engines.bootstrap

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def start(self, *args: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "up", *args], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 90) -> None:
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
        return count_documents(self.engines.search_url, self.alias, query)


def count_documents(search_url: str, alias: str, query: dict[str, Any] | None = None) -> int:
    """The engine's own count after a refresh, over plain HTTP (the same on Elasticsearch and OpenSearch)."""
    httpx.post(f"{search_url}/{alias}/_refresh", timeout=30).raise_for_status()
    answer = httpx.post(f"{search_url}/{alias}/_count", json={"query": query or {"match_all": {}}}, timeout=30)
    answer.raise_for_status()
    return int(answer.json()["count"])


def ids_indexed(search_url: str, alias: str) -> list[str]:
    """Every document id behind the alias (duplicates included: the same id in two indices shows twice)."""
    httpx.post(f"{search_url}/{alias}/_refresh", timeout=30).raise_for_status()
    ids: list[str] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": 1000, "_source": False, "sort": [{"id": "asc"}, {"_index": "asc"}]}
        if after:
            body["search_after"] = after
        hits = httpx.post(f"{search_url}/{alias}/_search", json=body, timeout=60).json()["hits"]["hits"]
        if not hits:
            return ids
        ids += [hit["_id"] for hit in hits]
        after = hits[-1]["sort"]


def stop_all(pipeline: Pipeline, *workers: subprocess.Popen[bytes] | None) -> None:
    """Test clean-up: extra workers first (SIGTERM), then the pipeline, whatever state a failure left."""
    for worker in workers:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(90)
    if pipeline.process and pipeline.process.poll() is None:
        pipeline.stop()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, engines: Engines) -> Iterator[Pipeline]:
    running = Pipeline(tmp_path_factory.mktemp("newsdesk"), engines)
    yield running
    if running.process and running.process.poll() is None:
        running.stop()


# -- search backends (contract suite) ---------------------------------------------------------------------------
# The same requests run against both clients: OpenSearch (the session's JVM) through opensearch-py, and noida-db's
# Elasticsearch API (the one Elasticsearch-compatible server here) through the `elasticsearch` client.


@dataclass
class SearchServer:
    engine: str  # "opensearch" | "elasticsearch": the adapter the contract expects for this server
    url: str


def unique_alias(prefix: str = "t") -> str:
    """An index alias of the test's own: the session's OpenSearch node is shared by every test."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def opensearch_server(request: pytest.FixtureRequest) -> SearchServer:
    """The session's OpenSearch (NEWSDESK_TEST_OPENSEARCH_URL: a node already running, for development)."""
    url = os.environ.get("NEWSDESK_TEST_OPENSEARCH_URL") or request.getfixturevalue("engines").search_url
    return SearchServer("opensearch", url)


@pytest.fixture(scope="session")
def noida_elasticsearch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchServer]:
    """noida-db's Elasticsearch API alone, started once (it scans and has no percolator: enough for a contract)."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("noida-es")
    with open(data_dir / "noida.log", "wb") as log:
        process = subprocess.Popen([noida_binary(), "start", "--data-dir",
                                    str(data_dir), "--host", "127.0.0.1", "--only", "elasticsearch",
                                    "--elasticsearch-port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(url, timeout=2).status_code == 200, 60, "noida-db's Elasticsearch API")
        yield SearchServer("elasticsearch", url)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(params=["opensearch", "elasticsearch"])
def search_server(request: pytest.FixtureRequest) -> SearchServer:
    """Each test that takes it runs on both engines."""
    name = "opensearch_server" if request.param == "opensearch" else "noida_elasticsearch"
    server: SearchServer = request.getfixturevalue(name)
    return server
