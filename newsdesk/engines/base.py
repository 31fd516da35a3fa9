"""What the supervisor needs to know of a process it runs: how to start it, when it is ready, where it listens."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

from newsdesk.processes import Child


@dataclass
class Service:
    name: str
    child: Callable[[], Child]  # a fresh Child for each (re)start
    ready: Callable[[], bool] = lambda: True  # polled after a start; an exception counts as "not yet"
    address: str = ""  # printed by `newsdesk up`
    stop_timeout_s: float = 30.0
    start_timeout_s: float = 120.0
    # Services it cannot finish its work without: stopped while one of them is down, it gets only
    # Supervisor.STOP_WITHOUT_NEEDS_S (a worker cannot commit with Kafka gone, and would wait out its timeout).
    needs: tuple[str, ...] = ()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def jvm_options(heap_mb: int) -> list[str]:
    """A bounded heap, and the serial collector: on a 2-core machine it leaves the cores to annotation."""
    return [f"-Xms{min(heap_mb, 256)}m", f"-Xmx{heap_mb}m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8"]
