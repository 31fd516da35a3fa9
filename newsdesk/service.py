"""`newsdesk up`: start (or connect to) the services, then run the Faust worker until told to stop.

Stop order matters: the worker first (it finishes in-flight batches and commits offsets), then noida-db
(which saves its data on a clean stop). A worker that dies on its own is restarted with backoff.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

from newsdesk import bootstrap
from newsdesk.embedded import noida_child
from newsdesk.processes import Child
from newsdesk.samples import SampleServer
from newsdesk.settings import Settings

log = logging.getLogger(__name__)
WORKER_STOP_TIMEOUT_S = 90.0


def web_args(settings: Settings) -> list[str]:
    """Faust's `worker` command starts its web server unless told not to, whatever the app's config says."""
    return ["--with-web", "--web-port", str(settings.web_port)] if settings.web_enabled else ["--without-web"]


def worker_child(settings: Settings) -> Child:
    argv = [sys.executable, "-m", "streams.app", "worker", "--loglevel", settings.log_level, *web_args(settings)]
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(settings.data_dir)}
    return Child("faust-worker", argv, env=env)


def api_child(settings: Settings) -> Child:
    return Child("search-api", [sys.executable, "-m", "newsdesk.cli", "api"],
                 env={**os.environ, "NEWSDESK_DATA_DIR": str(settings.data_dir)})


def run(settings: Settings, *, with_samples: bool) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    noida = noida_child(settings) if settings.embedded else None
    samples = SampleServer(settings) if with_samples else None
    worker: Child | None = None
    api = api_child(settings) if settings.api_port else None
    try:
        if noida:
            noida.start()
            log.info("embedded noida-db: kafka %s, elasticsearch %s, data in %s",
                     settings.bootstrap, settings.es_url, settings.noida_dir)
        bootstrap.prepare(settings)
        if samples:
            samples.start()
        if api:
            api.start()
        backoff = 1.0
        while not stop.is_set():
            worker = worker_child(settings)
            worker.start()
            started = time.monotonic()
            while not stop.is_set() and worker.running():
                stop.wait(0.5)
            if stop.is_set():
                break
            log.error("faust worker exited with %s; restarting in %.0fs", worker.process and worker.process.returncode,
                      backoff)
            backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, 60.0)
            stop.wait(backoff)
        return 0
    finally:
        if worker:
            worker.stop(WORKER_STOP_TIMEOUT_S)
        if api:
            api.stop(10)
        if samples:
            samples.stop()
        if noida:
            noida.stop(settings.embedded_stop_timeout_s)
        log.info("stopped")
