"""The bundled sample feeds: served on loopback so the demo works with no internet, plus real public feeds."""

from __future__ import annotations

import functools
import logging
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from connectors.rss.registry import FeedRegistry
from newsdesk.settings import Settings

log = logging.getLogger(__name__)
LOCAL_FEEDS = ("seed-article.rss.xml", "english-sample.rss.xml")


def samples_dir() -> Path:
    return Path(str(resources.files("connectors.rss").joinpath("samples")))


def public_feeds() -> list[str]:
    lines = (samples_dir() / "public-feeds.txt").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        log.debug("sample server: " + format, *args)


class SampleServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        handler = functools.partial(_QuietHandler, directory=str(samples_dir()))
        self.server = ThreadingHTTPServer(("127.0.0.1", settings.samples_port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="sample-feeds", daemon=True)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.settings.samples_port}/{name}" for name in LOCAL_FEEDS]

    def start(self) -> None:
        self.thread.start()
        added = FeedRegistry(self.settings.registry_path).add(self.urls + public_feeds())
        log.info("serving sample feeds on 127.0.0.1:%d; %d feeds newly registered",
                 self.settings.samples_port, len(added))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
