"""Start services in order, restart the ones that die, stop them in reverse order.

`newsdesk up` runs the engines (Kafka, OpenSearch), the search API and the Faust worker as children. Each is
started only once the one before it is ready, so a worker never meets a broker that is still formatting its
storage. A child that exits while it should be running is restarted after a backoff that doubles on each quick
failure (1 s to 60 s) and starts again at 1 s once a child has run for a minute; its exit code and the tail of
its log are logged. The stop is in reverse order: the worker finishes its batches and commits while Kafka and
the search engine are still there to take them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from newsdesk.engines.base import Service
from newsdesk.processes import Child

log = logging.getLogger(__name__)
HEALTHY_AFTER_S = 60.0
MAX_BACKOFF_S = 60.0


class StartFailed(RuntimeError):
    """A service did not become ready: the message carries why (its exit code and last log lines)."""


def log_tail(child: Child, lines: int = 12) -> str:
    if not child.log_path or not child.log_path.exists():
        return ""
    with open(child.log_path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 8192))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.strip().splitlines()[-lines:])


def next_backoff(previous: float, ran_for_s: float) -> float:
    """Pure: the wait before the next restart."""
    return 1.0 if ran_for_s >= HEALTHY_AFTER_S else min(MAX_BACKOFF_S, previous * 2)


@dataclass
class _Running:
    service: Service
    child: Child
    started_at: float
    backoff: float = 0.5
    restart_at: float | None = None  # set while waiting to restart
    restarts: int = 0
    on_ready: list[Callable[[], None]] = field(default_factory=list)


class Supervisor:
    STOP_WITHOUT_NEEDS_S = 10.0

    def __init__(self, stop: threading.Event) -> None:
        self.stop_event = stop
        self.running: list[_Running] = []

    def start(self, service: Service) -> None:
        """Start a service and wait until it is ready (or raise StartFailed)."""
        child = service.child()
        child.start()
        entry = _Running(service, child, time.monotonic())
        self.running.append(entry)
        self._wait_ready(entry)
        if service.address:
            log.info("%s ready on %s", service.name, service.address, extra={"service": service.name})

    def _wait_ready(self, entry: _Running) -> None:
        deadline = time.monotonic() + entry.service.start_timeout_s
        last_error: Exception | None = None
        while not self.stop_event.is_set():
            if not entry.child.running():
                code = entry.child.process.returncode if entry.child.process else None
                raise StartFailed(f"{entry.service.name} exited with {code} while starting"
                                  + (f"; its log ends with:\n{tail}" if (tail := log_tail(entry.child)) else ""))
            try:
                if entry.service.ready():
                    return
            except Exception as exc:  # not ready yet
                last_error = exc
            if time.monotonic() > deadline:
                raise StartFailed(f"{entry.service.name} was not ready within {entry.service.start_timeout_s:.0f}s"
                                  + (f" (last check: {last_error})" if last_error else ""))
            self.stop_event.wait(0.5)

    def watch(self, interval_s: float = 0.5) -> None:
        """Until stop is set: restart whatever died. A failed restart is retried with backoff, never fatal.

        Call it from the thread that started the services and outlives them: a child gets SIGTERM when the
        thread that started it ends (PR_SET_PDEATHSIG belongs to the parent thread, not the process).
        """
        while not self.stop_event.wait(interval_s):
            for entry in self.running:
                self._check(entry)

    def _stop_timeout(self, entry: _Running) -> float:
        """A child whose needs are down cannot finish cleanly (a worker's commits and flushes wait on Kafka until
        their own timeouts): waiting its full stop timeout would only delay the stop. What it did not commit is
        done again at the next start (at-least-once; the index absorbs repeats by article id)."""
        timeout = entry.service.stop_timeout_s
        down = [other.service.name for other in self.running
                if other.service.name in entry.service.needs and (other.restart_at is not None
                                                                 or not other.child.running())]
        if down and timeout > self.STOP_WITHOUT_NEEDS_S:
            log.warning("%s: %s down, so it cannot commit its work; it gets %.0fs to stop instead of %.0fs, and "
                        "redoes what it did not commit at the next start", entry.service.name, " and ".join(down),
                        self.STOP_WITHOUT_NEEDS_S, timeout, extra={"service": entry.service.name})
            timeout = self.STOP_WITHOUT_NEEDS_S
        return timeout

    def _check(self, entry: _Running) -> None:
        now = time.monotonic()
        if entry.restart_at is None:
            if entry.child.running():
                return
            code = entry.child.process.returncode if entry.child.process else None
            entry.child.stop(0)  # reaps it and closes its log
            entry.backoff = next_backoff(entry.backoff, now - entry.started_at)
            entry.restart_at = now + entry.backoff
            tail = log_tail(entry.child, 5)
            log.error("%s exited with %s; restarting in %.0fs%s", entry.service.name, code, entry.backoff,
                      f" (its log ends with:\n{tail})" if tail else "",
                      extra={"service": entry.service.name, "exit_code": code})
            return
        if now < entry.restart_at:
            return
        entry.restart_at = None
        entry.restarts += 1
        entry.child = entry.service.child()
        entry.started_at = time.monotonic()
        try:
            entry.child.start()
            self._wait_ready(entry)
            log.info("%s restarted (restart %d)%s", entry.service.name, entry.restarts,
                     f", ready on {entry.service.address}" if entry.service.address else "",
                     extra={"service": entry.service.name})
        except (StartFailed, OSError) as exc:
            log.error("%s: restart failed: %s", entry.service.name, exc, extra={"service": entry.service.name})

    def stop_all(self) -> None:
        for entry in reversed(self.running):
            try:
                entry.child.stop(self._stop_timeout(entry))
            except Exception as exc:  # the others must still stop
                log.error("stopping %s failed: %r", entry.service.name, exc)
        self.running.clear()
