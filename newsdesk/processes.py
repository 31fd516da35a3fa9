"""Child processes that die with their parent and stop in order."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux: if `newsdesk up` is killed outright, its children get SIGTERM instead of living on.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Child:
    def __init__(self, name: str, argv: list[str], *, log_path: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT if self._log else None,
                                        stdin=subprocess.DEVNULL, env=self.env, preexec_fn=_die_with_parent,
                                        process_group=0)  # Ctrl-C reaches us only; we stop children in order
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float) -> int | None:
        """SIGTERM, wait up to timeout_s for a clean exit, then SIGKILL (and say so)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            log.info("stopping %s (pid %d), waiting up to %.0fs", self.name, self.process.pid, timeout_s)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.error("%s did not stop within %.0fs; killing it", self.name, timeout_s)
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()
        return self.process.returncode
