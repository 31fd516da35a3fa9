"""Feed polling benchmark (issue 3): 10,000 distinct feeds on a local server, polled twice by one process.

    .venv/bin/python bench/polling.py [--feeds 10000] [--items 20] [--hosts 100] [--concurrency 200]

A separate server process (aiohttp) serves `--feeds` distinct RSS feeds of `--items` items each, spread over
`--hosts` loopback addresses (127.0.0.1, 127.0.0.2, ...: distinct hosts, so the fetcher's per-host limit of 2
applies as it would on the internet), with an ETag each and 304 for a matching If-None-Match. This process
polls them with `FeedFetcher` (the address guard on, loopback allowed with allow_private_addresses=True,
bounded reading, redirect handling, per-host slots) at `--concurrency` feeds in flight:

  round 1: every feed answers 200; each body goes through connectors.rss.parse.parse_feed (as the poller does)
  round 2: conditional GET with the stored ETag; every feed answers 304

and, in the same run, the same 304 round with a bare `httpx.AsyncClient` GET (no guard, no slots, no parsing),
so the guards' overhead is visible. The 304 rounds run twice each, alternating; medians are reported.
CPU is `time.process_time()` of this process only (the server's CPU is reported apart); peak RSS is
`ru_maxrss` of this process. Results: docs/benchmarks.md, "Feed polling (issue 3)".
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from connectors.rss.fetch import FeedFetcher  # noqa: E402
from connectors.rss.parse import parse_feed  # noqa: E402

# -- the server (its own process) --------------------------------------------------------------------------

def feed_body(n: int, items: int) -> bytes:
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    entries = []
    for i in range(items):
        when = format_datetime(base - timedelta(hours=i), usegmt=True)
        entries.append(
            f"<item><title>Feed {n} story {i}: council approves harbour budget</title>"
            f"<link>https://news{n % 997}.example.org/{n}/story-{i}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">feed-{n}-item-{i}</guid><pubDate>{when}</pubDate>"
            f"<category>World</category><description>&lt;p&gt;The council of town {n} approved item {i} after a "
            f"long debate about the harbour, the budget and the new ferry line.&lt;/p&gt;</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed {n}</title>'
            f"<link>https://news{n % 997}.example.org/</link><language>en</language>{''.join(entries)}"
            f"</channel></rss>").encode()


def serve(port: int, feeds: int, items: int, hosts: int, ready: multiprocessing.synchronize.Event) -> None:
    from aiohttp import web

    bodies = [feed_body(n, items) for n in range(feeds)]
    etags = [f'"v1-{n}"' for n in range(feeds)]

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n], "Cache-Control": "max-age=300"})
        return web.Response(body=bodies[n], content_type="application/rss+xml",
                            headers={"ETag": etags[n], "Cache-Control": "max-age=300"})

    async def cpu(request: web.Request) -> web.Response:
        return web.Response(text=f"{time.process_time():.6f}")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", feed)
        app.router.add_get("/_cpu", cpu)
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=75)
        await runner.setup()
        for h in range(hosts):
            await web.TCPSite(runner, f"127.0.0.{h + 1}", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the client (this process) -----------------------------------------------------------------------------

@dataclass
class Round:
    name: str
    polls: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    statuses: dict[int | str, int]
    parse_cpu_s: float = 0.0
    items: int = 0

    @property
    def per_s(self) -> float:
        return self.polls / self.wall_s

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu_s / self.polls * 1000

    def line(self) -> str:
        extra = (f"; of which parse_feed {self.parse_cpu_s / self.polls * 1000:.2f} CPU-s/1k, {self.items} items"
                 if self.items else "")
        return (f"{self.name:<38} {self.polls} polls in {self.wall_s:6.2f} s = {self.per_s:7.0f} feeds/s; "
                f"client {self.cpu_per_1000:5.2f} CPU-s per 1,000 polls{extra}; server {self.server_cpu_s:5.1f} "
                f"CPU-s; statuses {dict(sorted(self.statuses.items(), key=str))}")


def url(port: int, n: int, hosts: int) -> str:
    return f"http://127.0.0.{n % hosts + 1}:{port}/feed/{n}.xml"


async def server_cpu(port: int) -> float:
    async with httpx.AsyncClient() as client:
        return float((await client.get(f"http://127.0.0.1:{port}/_cpu")).text)


async def guarded_round(name: str, args: argparse.Namespace, etags: dict[int, str | None]) -> Round:
    fetcher = FeedFetcher(user_agent="newsdesk-bench/0.1 (+https://github.com/newsdesk/newsdesk)", timeout_s=30,
                          max_bytes=10 * 1024 * 1024, allow_private_addresses=True, max_per_host=2,
                          max_connections=args.concurrency)
    gate = asyncio.Semaphore(args.concurrency)
    statuses: dict[int | str, int] = {}
    parse_cpu = [0.0]
    items = [0]

    async def poll(n: int) -> None:
        async with gate:
            result = await fetcher.fetch(url(args.port, n, args.hosts), etag=etags[n])
        key: int | str = result.status if result.status and not result.error else f"error: {result.error}"
        statuses[key] = statuses.get(key, 0) + 1
        if result.status == 200 and not result.error:
            etags[n] = result.etag
            started = time.process_time()
            parsed = parse_feed(result.body, feed_url=result.url, headers=result.headers)
            parse_cpu[0] += time.process_time() - started
            items[0] += len(parsed.articles)

    server_before = await server_cpu(args.port)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(poll(n) for n in range(args.feeds)))
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await fetcher.aclose()
    return Round(name, args.feeds, wall, cpu, await server_cpu(args.port) - server_before, statuses,
                 parse_cpu[0], items[0])


async def bare_round(name: str, args: argparse.Namespace, etags: dict[int, str | None]) -> Round:
    gate = asyncio.Semaphore(args.concurrency)
    statuses: dict[int | str, int] = {}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=20)

    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:
        async def poll(n: int) -> None:
            headers = {"If-None-Match": etags[n]} if etags[n] else {}
            async with gate:
                try:
                    response = await client.get(url(args.port, n, args.hosts), headers=headers)
                    key: int | str = response.status_code
                except httpx.HTTPError as exc:
                    key = f"error: {type(exc).__name__}"
            statuses[key] = statuses.get(key, 0) + 1

        server_before = await server_cpu(args.port)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(poll(n) for n in range(args.feeds)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Round(name, args.feeds, wall, cpu, await server_cpu(args.port) - server_before, statuses)


def median_round(rounds: list[Round]) -> Round:
    best = sorted(rounds, key=lambda r: r.wall_s)[len(rounds) // 2]
    return Round(f"{rounds[0].name.split(' #')[0]} (median)", best.polls, statistics.median(r.wall_s for r in rounds),
                 statistics.median(r.cpu_s for r in rounds), statistics.median(r.server_cpu_s for r in rounds),
                 best.statuses)


async def run(args: argparse.Namespace) -> None:
    etags: dict[int, str | None] = {n: None for n in range(args.feeds)}
    first = await guarded_round("round 1 (200 + parse_feed), FeedFetcher", args, etags)
    print(first.line(), flush=True)
    ours, bare = [], []
    for attempt in (1, 2):
        ours.append(await guarded_round(f"round 2 (304), FeedFetcher #{attempt}", args, etags))
        print(ours[-1].line(), flush=True)
        bare.append(await bare_round(f"round 2 (304), bare httpx GET #{attempt}", args, etags))
        print(bare[-1].line(), flush=True)
    ours_m, bare_m = median_round(ours), median_round(bare)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print("summary")
    print(f"  round 1 (200 + parse):  {first.per_s:7.0f} feeds/s, {first.cpu_per_1000:.2f} CPU-s per 1,000 polls "
          f"({first.parse_cpu_s / first.polls * 1000:.2f} of them parse_feed), {first.items} items parsed")
    print(f"  round 2 (304):          {ours_m.per_s:7.0f} feeds/s, {ours_m.cpu_per_1000:.2f} CPU-s per 1,000 polls "
          f"(full round of {args.feeds} in {ours_m.wall_s:.1f} s; target < 60 s)")
    print(f"  bare httpx (304):       {bare_m.per_s:7.0f} feeds/s, {bare_m.cpu_per_1000:.2f} CPU-s per 1,000 polls")
    print(f"  FeedFetcher / bare:     {ours_m.cpu_per_1000 / bare_m.cpu_per_1000:.2f}x CPU per poll, "
          f"{ours_m.wall_s / bare_m.wall_s:.2f}x wall time")
    print(f"  peak RSS (client):      {peak_mib:.0f} MiB")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, httpx {httpx.__version__}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses 127.0.0.1..N (max 254)")
    parser.add_argument("--concurrency", type=int, default=200, help="feeds in flight")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    args = parser.parse_args()
    if not args.port:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    print(f"machine: {machine()}")
    print(f"setup: {args.feeds} feeds x {args.items} items over {args.hosts} loopback hosts, "
          f"{args.concurrency} in flight, max 2 per host")
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    server = context.Process(target=serve, args=(args.port, args.feeds, args.items, args.hosts, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(120):
            raise SystemExit("the feed server did not start")
        asyncio.run(run(args))
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
