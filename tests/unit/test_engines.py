"""The embedded engines' pure parts, the supervisor's restart rule, and `up` on a machine without Java or Maven."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from newsdesk.engines.base import Service
from newsdesk.engines.kafka import cluster_id, server_properties
from newsdesk.engines.maven import EngineUnavailable, tool
from newsdesk.processes import Child
from newsdesk.service import worker_services
from newsdesk.settings import Settings
from newsdesk.supervisor import HEALTHY_AFTER_S, MAX_BACKOFF_S, StartFailed, Supervisor, next_backoff


def test_kafka_is_one_kraft_node_on_loopback(tmp_path: Path) -> None:
    props = dict(line.split("=", 1) for line in server_properties(tmp_path, 9092, 9093, 168).splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["log.dirs"] == str(tmp_path)
    for internal in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                     "transaction.state.log.min.isr"):
        assert props[internal] == "1"
    assert int(props["log.cleaner.dedupe.buffer.size"]) < 128 * 1024 * 1024  # its default fills a small heap


def test_cluster_ids_are_kafka_uuids_never_read_as_an_option() -> None:
    ids = {cluster_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(len(i) == 22 and not i.startswith("-") and "=" not in i for i in ids)


@pytest.mark.parametrize("name", ["java", "mvn"])
def test_a_missing_tool_names_what_to_install_and_the_alternatives(name: str, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineUnavailable) as error:
        tool(name)
    message = str(error.value)
    assert "apt-get install" in message and "NEWSDESK_KAFKA_BOOTSTRAP" in message and "docker compose" in message


def test_up_without_java_says_why_and_exits_1(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path), "NEWSDESK_DATA_DIR": str(tmp_path / "data"), "JAVA_HOME": ""}
    for name in ("NEWSDESK_KAFKA_BOOTSTRAP", "NEWSDESK_ELASTICSEARCH_URL"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "newsdesk.cli", "up"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "needs `java`" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("previous", "ran_for", "expected"), [
    (0.5, 0.1, 1.0), (1.0, 3, 2.0), (32.0, 3, MAX_BACKOFF_S), (MAX_BACKOFF_S, 3, MAX_BACKOFF_S),
    (MAX_BACKOFF_S, HEALTHY_AFTER_S, 1.0),  # a child that ran a minute was healthy: start again from 1 s
])
def test_restart_backoff(previous: float, ran_for: float, expected: float) -> None:
    assert next_backoff(previous, ran_for) == expected


def sleeper(name: str, log: Path) -> Service:
    argv = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(120)"]
    return Service(name, lambda: Child(name, argv, log_path=log), ready=lambda: "up" in log.read_text(),
                   stop_timeout_s=5, start_timeout_s=20)


def test_a_child_that_dies_is_restarted_and_all_stop_in_reverse_order(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """watch() runs in this thread, as in `up`: a child dies with the thread that started it (PDEATHSIG)."""
    caplog.set_level("INFO", logger="newsdesk")
    stop = threading.Event()
    supervisor = Supervisor(stop)
    supervisor.start(sleeper("first", tmp_path / "first.log"))
    supervisor.start(sleeper("second", tmp_path / "second.log"))
    victim = supervisor.running[0].child.process
    assert victim is not None

    def kill_then_stop_once_restarted() -> None:
        os.kill(victim.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while supervisor.running[0].restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=kill_then_stop_once_restarted, daemon=True).start()
    supervisor.watch(0.1)
    assert supervisor.running[0].restarts == 1 and supervisor.running[0].child.running()
    assert "first exited with -9; restarting" in caplog.text
    supervisor.stop_all()
    stops = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stopping ")]
    assert [s.split()[1] for s in stops] == ["second", "first"]


def test_a_child_that_exits_while_starting_fails_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "broken.log"
    argv = [sys.executable, "-c", "import sys; print('cannot bind the port'); sys.exit(3)"]
    service = Service("broken", lambda: Child("broken", argv, log_path=log), ready=lambda: False,
                      start_timeout_s=20)
    with pytest.raises(StartFailed, match=r"broken exited with 3 while starting(.|\n)*cannot bind the port"):
        Supervisor(threading.Event()).start(service)


def stubborn(name: str, log: Path, stop_timeout_s: float, needs: tuple[str, ...]) -> Service:
    """Ignores SIGTERM, as a worker does while its commit waits on a Kafka that is gone."""
    argv = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                  "print('up', flush=True); time.sleep(120)"]
    return Service(name, lambda: Child(name, argv, log_path=log), ready=lambda: "up" in log.read_text(),
                   stop_timeout_s=stop_timeout_s, start_timeout_s=20, needs=needs)


@pytest.mark.parametrize("engine_down", [True, False])
def test_a_child_whose_needs_are_down_is_not_waited_for_long(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                            engine_down: bool) -> None:
    caplog.set_level("INFO", logger="newsdesk")
    supervisor = Supervisor(threading.Event())
    supervisor.STOP_WITHOUT_NEEDS_S = 1.0
    supervisor.start(sleeper("engine", tmp_path / "engine.log"))
    supervisor.start(stubborn("worker", tmp_path / "worker.log", stop_timeout_s=4.0, needs=("engine",)))
    engine = supervisor.running[0].child.process
    assert engine is not None
    if engine_down:
        os.kill(engine.pid, signal.SIGKILL)
        engine.wait()
    started = time.monotonic()
    supervisor.stop_all()
    took = time.monotonic() - started
    if engine_down:
        assert took < 3.0
        assert "worker: engine down, so it cannot commit its work; it gets 1s to stop instead of 4s" in caplog.text
    else:
        assert took >= 4.0  # with what it needs up, a child gets its whole stop timeout to finish cleanly
    assert "worker did not stop within" in caplog.text


ALL = ["poll", "annotate", "index", "deliver"]


@pytest.mark.parametrize(("stages", "separate", "expected"), [
    (None, False, {"faust-worker": ALL}),
    (None, True, {"faust-worker": ["poll", "annotate", "index"], "delivery-worker": ["deliver"]}),
    (None, None, {"faust-worker": ["poll", "annotate", "index"], "delivery-worker": ["deliver"]}),  # the default
    (["index", "deliver"], True, {"faust-worker": ["index"], "delivery-worker": ["deliver"]}),
    (["poll", "annotate", "index"], True, {"faust-worker": ["poll", "annotate", "index"]}),  # nothing to deliver
    (["deliver"], True, {"faust-worker": ["deliver"]}),  # already a delivery worker
])
def test_up_splits_delivery_into_a_worker_of_its_own_unless_told_not_to(monkeypatch: pytest.MonkeyPatch,
                                                                        stages: list[str] | None,
                                                                        separate: bool | None,
                                                                        expected: dict[str, list[str]]) -> None:
    if stages:
        monkeypatch.setenv("NEWSDESK_STAGES", json.dumps(stages))
    else:
        monkeypatch.delenv("NEWSDESK_STAGES", raising=False)
    if separate is None:
        monkeypatch.delenv("NEWSDESK_DELIVERY_WORKER", raising=False)
    else:
        monkeypatch.setenv("NEWSDESK_DELIVERY_WORKER", "1" if separate else "0")
    monkeypatch.setenv("NEWSDESK_DELIVERY_METRICS_PORT", "9200")
    services = worker_services(Settings())
    children = {service.name: service.child() for service in services}
    assert {name: json.loads((child.env or {}).get("NEWSDESK_STAGES", json.dumps(ALL)))
            for name, child in children.items()} == expected
    if "delivery-worker" in children:
        assert (children["delivery-worker"].env or {})["NEWSDESK_METRICS_PORT"] == "9200"
        assert "--without-web" in children["delivery-worker"].argv
    assert all(service.needs == ("kafka",) for service in services)


def test_a_delivery_worker_serves_no_metrics_when_metrics_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSDESK_STAGES", raising=False)
    monkeypatch.setenv("NEWSDESK_DELIVERY_WORKER", "1")
    monkeypatch.setenv("NEWSDESK_METRICS_PORT", "0")
    delivery = worker_services(Settings())[1]
    assert delivery.name == "delivery-worker" and delivery.stop_timeout_s < 90
    assert (delivery.child().env or {})["NEWSDESK_METRICS_PORT"] == "0"
