"""`newsdesk up`: start (or connect to) the engines, then the search API and the Faust worker, and keep them running.

Order: Kafka, OpenSearch (each only when no cluster address is set), the topics and the index (bootstrap), the
sample feed server, the API, the worker. Every child is supervised (restarted when it dies); SIGTERM, SIGINT
and SIGHUP stop them in reverse order, so the worker commits while the engines are still up.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
from types import FrameType

from newsdesk import bootstrap
from newsdesk.engines import EngineUnavailable, Service, embedded_services
from newsdesk.processes import Child
from newsdesk.samples import SampleServer
from newsdesk.settings import Settings
from newsdesk.supervisor import StartFailed, Supervisor

log = logging.getLogger(__name__)
WORKER_STOP_TIMEOUT_S = 90.0
DELIVERY_STOP_TIMEOUT_S = 30.0  # two workers stopped one after the other stay within systemd's TimeoutStopSec


def web_args(settings: Settings) -> list[str]:
    """Faust's `worker` command starts its web server unless told not to, whatever the app's config says."""
    return ["--with-web", "--web-port", str(settings.web_port)] if settings.web_enabled else ["--without-web"]


def child_env(settings: Settings) -> dict[str, str]:
    """The worker and the API use the engines `up` started, at the addresses it chose. They write to `up`'s own
    stderr, so "auto" picks the same log format there; a format `up` was told (by the environment or a config
    file) is handed on as it is."""
    forced = {"NEWSDESK_LOG_FORMAT": settings.log_format} if settings.log_format != "auto" else {}
    return {**os.environ, "NEWSDESK_DATA_DIR": str(settings.data_dir), "NEWSDESK_KAFKA_BOOTSTRAP": settings.bootstrap,
            "NEWSDESK_ELASTICSEARCH_URL": settings.es_url, **engine_hint(settings), **forced}


def engine_hint(settings: Settings) -> dict[str, str]:
    """With the embedded engine the search engine is known: children need not detect it."""
    return {"NEWSDESK_SEARCH_ENGINE": "opensearch"} if not settings.elasticsearch_url else {}


def worker_service(settings: Settings, name: str = "faust-worker", env: dict[str, str] | None = None,
                   web: bool = True, stop_timeout_s: float = WORKER_STOP_TIMEOUT_S) -> Service:
    argv = [sys.executable, "-m", "streams.worker", "worker", "--loglevel", settings.log_level,
            *(web_args(settings) if web else ["--without-web"])]
    return Service(name, lambda: Child(name, argv, env={**child_env(settings), **(env or {})}),
                   stop_timeout_s=stop_timeout_s, needs=("kafka",))  # "kafka": the embedded one, if any


def worker_services(settings: Settings) -> list[Service]:
    """The worker; with NEWSDESK_DELIVERY_WORKER, two in one consumer group: every stage but delivery, and a
    delivery worker (no NLP models loaded, its own metrics port, no Faust web)."""
    others = [stage for stage in settings.stages if stage != "deliver"]
    if not settings.delivery_worker or len(others) in (0, len(settings.stages)):  # nothing to split off
        return [worker_service(settings)]
    return [worker_service(settings, env={"NEWSDESK_STAGES": json.dumps(others)}),
            # it holds no batch of articles: what it has not committed is sent again to channels not marked sent
            worker_service(settings, "delivery-worker", web=False, stop_timeout_s=DELIVERY_STOP_TIMEOUT_S,
                           env={"NEWSDESK_STAGES": json.dumps(["deliver"]),
                                "NEWSDESK_METRICS_PORT": str(settings.delivery_metrics_port
                                                             if settings.metrics_port else 0)})]


def api_service(settings: Settings) -> Service:
    argv = [sys.executable, "-m", "newsdesk.cli", "api"]
    return Service("search-api", lambda: Child("search-api", argv, env=child_env(settings)),
                   address=f"http://{settings.api_host}:{settings.api_port}/search", stop_timeout_s=10.0)


def listening_ports(settings: Settings, *, with_samples: bool) -> list[tuple[str, str, int]]:
    """(what, host, port) for each port `up` and its children will listen on, in start order."""
    ports = []
    if not settings.kafka_bootstrap:
        ports += [("kafka", "127.0.0.1", settings.embedded_kafka_port),
                  ("kafka controller", "127.0.0.1", settings.embedded_kafka_controller_port)]
    if not settings.elasticsearch_url:
        ports.append(("opensearch", "127.0.0.1", settings.embedded_opensearch_port))
    if with_samples and settings.samples_port:
        ports.append(("sample feeds", "127.0.0.1", settings.samples_port))
    if settings.api_port:
        ports.append(("search API", settings.api_host, settings.api_port))
    if settings.web_enabled:
        ports.append(("faust web", "127.0.0.1", settings.web_port))
    return ports


def port_in_use(host: str, port: int) -> bool:
    """Tried by binding, as the server will: a connect would miss a port held on another address of the host.
    SO_REUSEADDR as servers set it, so a connection of a stopped run lingering in TIME_WAIT is no conflict."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def busy_port(settings: Settings, *, with_samples: bool) -> tuple[str, int] | None:
    """Checked before anything starts. An engine on a taken port would fail to bind while its readiness check
    answered from the other run's engine, and the children would end in tracebacks."""
    return next(((what, port) for what, host, port in listening_ports(settings, with_samples=with_samples)
                 if port_in_use(host, port)), None)


def run(settings: Settings, *, with_samples: bool) -> int:
    if taken := busy_port(settings, with_samples=with_samples):
        log.error("port %d is in use: is another newsdesk up running?", taken[1],
                  extra={"port": taken[1], "service": taken[0]})
        return 1
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)

    supervisor = Supervisor(stop)
    samples = SampleServer(settings) if with_samples else None
    try:
        for engine in embedded_services(settings):
            supervisor.start(engine)
        if stop.is_set():
            return 0
        bootstrap.prepare(settings)
        if samples:
            samples.start()
        if settings.api_port:
            supervisor.start(api_service(settings))
        for worker in worker_services(settings):
            supervisor.start(worker)
        log.info("newsdesk is running: kafka %s, search %s, data in %s", settings.bootstrap,
                 settings.es_url if not settings.elasticsearch_url else "(cluster)", settings.data_dir)
        supervisor.watch()
        return 0
    except (EngineUnavailable, StartFailed) as exc:
        log.error("%s", exc)
        return 1
    finally:
        supervisor.stop_all()
        if samples:
            samples.stop()
        log.info("stopped")
