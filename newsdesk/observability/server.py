"""The worker's HTTP side: `/metrics`, `/health/live` and `/health/ready`, a tiny aiohttp app on the worker's loop.

On the worker's own event loop, not prometheus_client's server thread: liveness then means the loop answers (a
loop wedged by a blocking call fails it, which a thread would hide), and readiness reads the worker's state
without locking. aiohttp is already a dependency (the search API).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from newsdesk.observability import metrics

log = logging.getLogger(__name__)

Readiness = Callable[[], tuple[bool, dict[str, Any]]]


def make_app(readiness: Readiness) -> web.Application:
    async def metrics_handler(request: web.Request) -> web.Response:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def live_handler(request: web.Request) -> web.Response:
        return web.json_response({"live": True})

    async def ready_handler(request: web.Request) -> web.Response:
        ready, detail = readiness()
        return web.json_response({"ready": ready, **detail}, status=200 if ready else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/health/live", live_handler)
    app.router.add_get("/health/ready", ready_handler)
    return app


class MetricsServer:
    """Started and stopped by the worker; a port that cannot be bound is logged, never fatal to the worker."""

    def __init__(self, host: str, port: int, readiness: Readiness) -> None:
        self.host, self.port, self.readiness = host, port, readiness
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(make_app(self.readiness), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            log.error("metrics: cannot serve on %s:%d (%s); no /metrics for this worker", self.host, self.port, exc)
            await runner.cleanup()
            return
        self._runner = runner
        log.info("metrics on http://%s:%d/metrics (health: /health/live, /health/ready)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
