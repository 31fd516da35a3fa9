"""The `newsdesk` command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from newsdesk import logs
from newsdesk.alerts_cli import alerts_app
from newsdesk.settings import Settings, load

if TYPE_CHECKING:
    from rich.progress import Progress

    from connectors.rss.registry import FeedRegistry

app = typer.Typer(help="newsdesk: RSS/Atom feeds in, annotated, searchable articles out (Kafka, Faust, "
                       "Elasticsearch).", no_args_is_help=True, add_completion=False)
feeds_app = typer.Typer(help="Manage the feed list (under NEWSDESK_DATA_DIR, or in Kafka with "
                             "NEWSDESK_REGISTRY=kafka; picked up live by `up`).",
                        no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(alerts_app, name="alerts")
err = Console(stderr=True, soft_wrap=True)  # soft wrap: an error message is never cut mid-sentence
# Client libraries that log every connection at INFO: their lines come with -v only.
CHATTY_LOGGERS = logs.CHATTY_LOGGERS
_verbose = False


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also log the Kafka and HTTP clients' "
                                                "connection details")] = False) -> None:
    global _verbose
    _verbose = verbose


def _settings() -> Settings:
    settings = load()
    logs.setup(settings.log_level, settings.log_format, verbose=_verbose)
    return settings


@app.command()
def up(samples: Annotated[bool, typer.Option(help="Serve the bundled sample feeds on loopback and register "
                                                  "them with a few real public feeds")] = False) -> None:
    """Run the main job: start (or connect to) Kafka and Elasticsearch, then poll, annotate and index until stopped."""
    from newsdesk import service

    if _verbose:  # the worker and the API it starts have no -v of their own
        os.environ[logs.VERBOSE_ENV] = "1"
    raise typer.Exit(service.run(_settings(), with_samples=samples))


@app.command("fetch-engines")
def fetch_engines() -> None:
    """Resolve the embedded Kafka and OpenSearch jars with Maven (once; `up` does it too), and print the Java and
    Maven in use. Nothing is downloaded again while the poms are unchanged."""
    from newsdesk.engines import EngineUnavailable
    from newsdesk.engines.maven import classpath, tool

    settings = _settings()
    try:
        print(f"java: {tool('java', settings.java_home)}\nmvn: {tool('mvn')}")
        for pom in ("kafka.pom.xml", "opensearch.pom.xml"):
            jars = classpath(pom, settings.engines_cache_dir, settings.maven_repo).split(":")
            print(f"{pom}: {len(jars)} jars resolved")
    except EngineUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def api() -> None:
    """Serve the search API (GET /search, /articles/{id}, /health) on NEWSDESK_API_HOST:NEWSDESK_API_PORT."""
    from newsdesk.api import serve

    serve(_settings())


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(ctx: typer.Context) -> None:
    """Run one Faust worker against already running services (scale out by starting more)."""
    from newsdesk.service import web_args

    if _verbose:
        os.environ[logs.VERBOSE_ENV] = "1"
    settings = load()
    # Faust's own default level is WARN: the worker's lines at NEWSDESK_LOG_LEVEL, as under `newsdesk up`
    sys.argv = ["newsdesk-worker", "worker", "--loglevel", settings.log_level, *web_args(settings), *ctx.args]
    from streams.app import main

    main()


def _progress() -> Progress:
    """A progress bar on stderr when it is a terminal; nothing at all in a pipe or a log file (no bar frames, and
    the summary line at the end says it all). Log lines during it are printed above the bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, disable=not err.is_terminal, transient=True)


def _registry(settings: Settings | None = None) -> FeedRegistry:
    """NEWSDESK_REGISTRY=kafka: the shared feed list, read whole from its topics into memory (README "Feeds")."""
    settings = settings or _settings()
    if settings.registry == "kafka":
        from connectors.rss.shared_registry import SharedFeedRegistry

        logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))  # its INFO is noise here
        try:
            return SharedFeedRegistry(Path(":memory:"), settings.bootstrap, feeds_topic=settings.topic_feeds,
                                      state_topic=settings.topic_feed_state, follow=False,
                                      client_id=f"{settings.app_id}-cli", timeout_s=30)
        except Exception as exc:
            err.print(f"[red]cannot read the shared feed registry[/red] ({settings.bootstrap}): {exc}")
            raise typer.Exit(1) from exc
    from connectors.rss.registry import FeedRegistry

    return FeedRegistry(settings.registry_path)


ADD_RESOLVE_TIMEOUT_S = 3.0


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed's address, or None. Checked here so that a typo is said at once, not found
    later as a feed that fails on every poll."""
    from connectors.net.urls import http_url_problem

    return http_url_problem(url)


def _resolve_all(hosts: set[tuple[str, int]], timeout_s: float) -> dict[tuple[str, int], list[str]]:
    """The addresses of each (host, port) that resolved within `timeout_s`, all looked up at once. Daemon threads:
    a resolver that never answers must not hold the command, nor its exit."""
    import socket
    import threading
    import time

    found: dict[tuple[str, int], list[str]] = {}

    def lookup(host: str, port: int) -> None:
        try:
            found[host, port] = [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        except (OSError, UnicodeError):
            pass

    threads = [threading.Thread(target=lookup, args=key, daemon=True) for key in hosts]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return dict(found)


def _address_problems(settings: Settings, urls: list[str]) -> dict[str, str]:
    """{url: why it is refused} for feeds on loopback, private or otherwise non-public addresses, with the fetcher's
    own guard (connectors/net/addresses.py) and its exceptions (NEWSDESK_ALLOW_PRIVATE_ADDRESSES,
    NEWSDESK_FETCH_ALLOWED_HOSTS). A name that does not resolve now is accepted with a warning: feeds may be added
    offline or before their DNS exists, and the fetcher vets the addresses again on every connection, so nothing
    private is ever fetched either way."""
    from urllib.parse import urlsplit

    from connectors.net.addresses import BlockedAddressError, GuardedBackend, ip_literal
    from connectors.rss.redact import redact_url

    if settings.allow_private_addresses:
        return {}
    targets: dict[str, tuple[str, int]] = {}
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname is not None  # _url_problem said so
        targets[url] = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    guard = GuardedBackend(allowed_hosts=settings.fetcher_options["allowed_hosts"])
    targets = {url: target for url, target in targets.items() if not guard.exempt(*target)}
    resolved = _resolve_all({t for t in targets.values() if ip_literal(t[0]) is None}, ADD_RESOLVE_TIMEOUT_S)
    problems = {}
    for url, (host, port) in targets.items():
        if ip_literal(host) is None and (host, port) not in resolved:
            err.print(f"warning: {redact_url(url)}: cannot resolve {host} now; added anyway (its addresses are "
                      "checked when it is fetched)", markup=False, highlight=False)
            continue
        addresses = resolved.get((host, port), [])

        async def known(_host: str, _port: int, addresses: list[str] = addresses) -> list[str]:
            return addresses

        try:
            asyncio.run(GuardedBackend(resolver=known).resolve(host, port))
        except BlockedAddressError as exc:
            problems[url] = f"{str(exc).removeprefix('refused: ')}; NEWSDESK_ALLOW_PRIVATE_ADDRESSES=1 allows it"
    return problems


def _check_urls(urls: list[str], settings: Settings) -> list[str]:
    """The URLs as stored (scheme in lower case), or exit 2 naming each refused one on a line of its own."""
    from connectors.rss.redact import redact_url

    urls = list(dict.fromkeys(u.strip() for u in urls))
    problems = {url: problem for url in urls if (problem := _url_problem(url))}
    if not problems:
        urls = [url.split(":", 1)[0].lower() + ":" + url.split(":", 1)[1] for url in urls]
        problems = _address_problems(settings, urls)
    for url, problem in problems.items():
        err.print(f"refused {redact_url(url)!r}: {problem}", markup=False, highlight=False)
    if problems:
        raise typer.Exit(2)
    return urls


@feeds_app.command("add")
def feeds_add(
    urls: Annotated[list[str], typer.Argument(help="Feed URLs (http or https)")],
    interval: Annotated[float | None, typer.Option("--interval", min=0, help="Poll every S seconds, not "
                                                   "adaptively (within NEWSDESK_POLL_MIN/MAX_INTERVAL_S); "
                                                   "0: adaptive")] = None,
    language: Annotated[str | None, typer.Option("--language", help="Language hint for the feed's articles "
                                                 "(ISO 639-1, e.g. it); overrides what the feed declares")] = None,
    full_text: Annotated[bool | None, typer.Option("--full-text/--no-full-text", help="Fetch the article page "
                                                   "when an item carries only a summary")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat for several)")] = None,
) -> None:
    """Add feeds; a running `newsdesk up` polls them within NEWSDESK_REGISTRY_REFRESH_S. For a feed already
    present, the options given replace its settings."""
    settings = _settings()
    urls = _check_urls(urls, settings)
    registry = _registry(settings)
    language = language.strip().lower() if language else None
    added = registry.add(urls, interval_s=interval or None, language=language, full_text=bool(full_text),
                         tags=tags or ())
    changes: dict[str, object] = {}
    if interval is not None:
        changes["interval_s"] = interval or None
    if language:
        changes["language"] = language
    if full_text is not None:
        changes["full_text"] = full_text
    if tags:
        changes["tags"] = tags
    from connectors.rss.redact import redact_url

    for url in urls:
        if url in added:
            print(f"added: {redact_url(url)}")
        elif changes:
            registry.configure(url, **changes)
            print(f"already present (settings updated): {redact_url(url)}")
        else:
            print(f"already present: {redact_url(url)}")


def _each_feed(urls: list[str], action: Callable[[str], bool]) -> None:
    """Apply a registry action to each URL; unknown feeds are reported and make the exit code 1."""
    missing = [url for url in urls if not action(url)]
    for url in missing:
        err.print(f"no such feed: {url}")
    if missing:
        raise typer.Exit(1)


@feeds_app.command("remove")
def feeds_remove(urls: Annotated[list[str], typer.Argument(help="Feed URLs")]) -> None:
    """Remove feeds (articles already indexed stay)."""
    registry = _registry()
    _each_feed(_stored_urls(registry, urls), registry.remove)


@feeds_app.command("enable")
def feeds_enable(urls: Annotated[list[str], typer.Argument(help="Feed URLs")]) -> None:
    """Enable feeds (also those disabled after failures: the failure count starts again); polled at once."""
    registry = _registry()
    _each_feed(_stored_urls(registry, urls), registry.enable)


@feeds_app.command("disable")
def feeds_disable(
    urls: Annotated[list[str], typer.Argument(help="Feed URLs")],
    reason: Annotated[str, typer.Option(help="Shown in `feeds list`")] = "disabled by the operator",
) -> None:
    """Stop polling feeds without forgetting them (their settings and dedup memory stay)."""
    registry = _registry()
    _each_feed(_stored_urls(registry, urls), lambda url: registry.disable(url, reason))


def _stored_urls(registry: FeedRegistry, urls: list[str]) -> list[str]:
    """A feed with credentials is listed without them: accept it as listed, too."""
    from connectors.rss.redact import resolve

    return resolve(urls, [feed.url for feed in registry.list()])


def _ago(timestamp: float | None, now: float) -> str:
    if not timestamp:
        return ""
    seconds = timestamp - now
    magnitude = abs(seconds)
    text = (f"{magnitude:.0f}s" if magnitude < 120 else f"{magnitude / 60:.0f}m" if magnitude < 7200
            else f"{magnitude / 3600:.0f}h" if magnitude < 172800 else f"{magnitude / 86400:.0f}d")
    return f"in {text}" if seconds > 0 else f"{text} ago"


@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False) -> None:
    """List the feeds with their settings and health: state (disabled, and why), last success, last error,
    consecutive failures, items seen, current interval and next poll."""
    import time
    from dataclasses import asdict

    from rich.markup import escape

    from connectors.rss.redact import shown_feed

    feeds = [shown_feed(feed) for feed in _registry().list()]  # credentials in a feed URL are never shown
    if as_json:
        for feed in feeds:
            print(json.dumps({**asdict(feed), "state": "enabled" if feed.enabled else "disabled"}, ensure_ascii=False))
        return
    now = time.time()
    terminal = sys.stdout.isatty()
    table = Table(title=f"{len(feeds)} feeds")
    table.add_column("feed", overflow="fold")  # URLs whole (wrapped), never cut with "…"
    table.add_column("state", overflow="fold")
    for column in ("every", "next poll", "items", "fails", "last ok"):
        table.add_column(column)
    table.add_column("last error", overflow="fold")
    # Piped or redirected: one tab-separated line per feed (a header first), for grep, cut and sort; a table
    # there would be folded to 80 columns, cutting URLs into pieces.
    plain = ["\t".join(("feed", "title", "settings", "state", "every", "next poll", "items", "fails", "last ok",
                        "last error"))]
    for feed in feeds:
        settings = [f"lang {feed.language}"] if feed.language else []
        settings += ["full text"] if feed.full_text else []
        settings += [f"#{t}" for t in feed.tags]
        interval = feed.interval_s or feed.adaptive_interval_s
        every = (f"{interval:.0f}s" + ("" if feed.interval_s else " (adaptive)")) if interval else ""
        next_poll = (_ago(feed.next_poll_at, now) or "now") if feed.enabled else ""
        if next_poll and feed.schedule_reason and feed.schedule_reason not in ("adaptive", "override"):
            next_poll += f" ({feed.schedule_reason})"
        counts = (str(feed.items_seen), str(feed.consecutive_failures), _ago(feed.last_success_at, now))
        if not terminal:
            state = "enabled" if feed.enabled else f"disabled: {feed.disabled_reason or ''}"
            fields = (feed.url, feed.title or "", " ".join(settings), state, every, next_poll, *counts,
                      feed.last_error or "")
            plain.append("\t".join(" ".join(field.split()) for field in fields))  # no tab or newline inside
            continue
        name = f"{escape(feed.title)}\n{escape(feed.url)}" if feed.title else escape(feed.url)
        if settings:
            name += "\n" + escape(" ".join(settings))
        state = "enabled" if feed.enabled else f"[red]disabled[/red]: {escape(feed.disabled_reason or '')}"
        table.add_row(name, state, every, next_poll, *counts, escape(feed.last_error or ""))
    if terminal:
        Console().print(table)
    else:
        print("\n".join(plain))


@feeds_app.command("import")
def feeds_import(path: Annotated[Path, typer.Argument(help="An OPML file (e.g. another reader's export)")]) -> None:
    """Add the feeds of an OPML file with their settings (folders become tags); feeds already present stay as
    they are."""
    from connectors.rss.opml import OpmlError, parse_opml

    try:
        feeds, skipped = parse_opml(path.read_bytes())
    except OSError as exc:
        err.print(f"[red]{path}: {exc.strerror}[/red]")
        raise typer.Exit(1) from exc
    except OpmlError as exc:
        err.print(f"[red]{path}: {exc}[/red]")
        raise typer.Exit(1) from exc
    for reason in skipped:
        err.print(f"skipped {reason}")
    registry = _registry()
    added = 0
    with _progress() as bar:
        for feed in bar.track(feeds, description="importing feeds"):
            added += len(registry.add([feed.url], title=feed.title, interval_s=feed.interval_s,
                                      language=feed.language, full_text=feed.full_text, tags=feed.tags,
                                      enabled=feed.enabled))
    print(f"{added} feeds added, {len(feeds) - added} already present, {len(skipped)} outlines skipped")


@feeds_app.command("export")
def feeds_export() -> None:
    """Print the feed list as OPML 2.0 (with each feed's settings; `feeds import` reads it back)."""
    from connectors.rss.opml import export_opml
    from connectors.rss.redact import shown_feed

    sys.stdout.buffer.write(export_opml([shown_feed(feed) for feed in _registry().list()]))
    sys.stdout.flush()


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to find, in the query language (docs/query-language.md): words, "
                                              "\"phrases\", AND/OR/NOT, person:/org:/place:/entity:/topic:/lang:/"
                                              "source: ('' for everything)")],
    lang: Annotated[str | None, typer.Option("--lang", help="Only articles in this language (it, en, ...)")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only articles naming this entity")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only articles with this IPTC topic")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this site, feed title or feed URL")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Published at or after (ISO date or now-7d)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Published at or before")] = None,
    sort: Annotated[str, typer.Option("--sort", help="date (newest first) or relevance")] = "date",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 10,
    after: Annotated[str | None, typer.Option("--after", help="Page cursor printed by the previous page")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line")] = False,
) -> None:
    """Search the indexed articles, newest first (or by relevance), with filters, highlights and paging."""
    from rich.markup import escape

    from connectors.elasticsearch import SearchError, redact_url
    from connectors.elasticsearch.query_language import QuerySyntaxError
    from connectors.elasticsearch.search import SearchRequest, build_query
    from newsdesk.bootstrap import search_once

    if sort not in ("date", "relevance"):
        err.print("--sort is 'date' or 'relevance'")
        raise typer.Exit(2)
    settings = _settings()
    if not _verbose:  # the clients log each failed attempt with a traceback; the one line below says it all
        for name in ("elastic_transport", "opensearch"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    request = SearchRequest(query=query, language=lang, entity=entity, topic=topic, source=source, since=since,
                            until=until, sort=sort, limit=limit, after=after)  # type: ignore[arg-type]

    try:
        build_query(request)  # the query, cursor and dates are checked before connecting
        page = asyncio.run(search_once(settings, request))
    except QuerySyntaxError as exc:  # where the error is, with a caret under the query
        err.print(f"query error at column {exc.position + 1}: {escape(exc.message)}", highlight=False)
        err.print(f"  {escape(query)}\n  {' ' * exc.position}^", highlight=False)
        raise typer.Exit(2) from None
    except ValueError as exc:  # a bad cursor or since/until: the user's input, said as it is
        err.print(f"[red]search failed[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except SearchError as exc:  # one line, no traceback; the URL without credentials
        err.print(f"[red]search failed[/red] ({escape(redact_url(settings.es_url))}): {escape(str(exc))}",
                  highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        for hit in page.hits:
            print(json.dumps(hit, ensure_ascii=False))
    else:
        table = Table("date", "lang", "title", "source", "top entities", title=f"{page.total} articles")
        for hit in page.hits:
            names = [e["name"] for e in sorted(hit.get("entities", []), key=lambda e: -e["mentions"])[:4]]
            title = hit.get("title", "") + "".join(f"\n  … {h}" for h in hit.get("highlight", [])[:1])
            table.add_row((hit.get("published_at") or hit.get("fetched_at") or "")[:16], hit.get("language", ""),
                          title, hit.get("feed_title") or hit.get("site") or "", ", ".join(names))
        Console().print(table)
    if page.next_cursor:
        err.print(f"next page: --after {page.next_cursor}")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0.2, max=60, help="Seconds to wait for the "
                                           "services (each part is asked concurrently)")] = 2.5,
) -> None:
    """What the pipeline is doing: services and versions, consumer lag, articles per minute per stage (5 and
    60 minutes), feeds by health with the worst offenders, index size and newest document, alerts delivered and
    failed, dead letters with their latest reasons. Exit code 1 when Kafka or the search engine is down."""
    from newsdesk import status as status_report

    settings = _settings()
    if not _verbose:  # a service that is down is said once, in the report; the clients' own retries stay quiet
        for name in (*CHATTY_LOGGERS, "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    report = status_report.gather(settings, timeout_s=timeout)
    if as_json:
        print(status_report.to_json(report))
    elif sys.stdout.isatty():
        console = Console()
        for renderable in status_report.render(report):
            console.print(renderable)
            console.print()
    else:
        print("\n".join(status_report.plain_lines(report)))
    raise typer.Exit(0 if report["ok"] else 1)


@app.command()
def reindex(since: Annotated[str | None, typer.Option("--since", help="Replay from this ISO timestamp "
                                                                      "(default: the beginning of the topic)")] = None
            ) -> None:
    """Rebuild the index from the articles.annotated topic, without duplicates, while the live stream goes on."""
    from datetime import datetime

    from newsdesk.reindex import reindex as run_reindex

    settings = _settings()
    start = datetime.fromisoformat(since) if since else None
    with _progress() as bar:
        task = bar.add_task("reindexing", total=None)
        result = asyncio.run(run_reindex(settings, start,
                                         progress=lambda done, total: bar.update(task, completed=done, total=total)))
    print(json.dumps({"written": result.written, "stale": result.stale, "rejected": len(result.rejected)}))
    for rejected in result.rejected:
        err.print(f"rejected {rejected.id}: {rejected.reason}")


def _batches(lines: Iterator[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    numbered = ((n, line) for n, line in enumerate(lines, 1) if line.strip())
    while batch := list(islice(numbered, size)):
        yield batch


def _annotate_input(line: bytes) -> tuple[str, str, str, str | None]:
    """One stdin line -> (id, title, text, language); raises ValueError with the reason it is not an article."""
    import math
    import re

    lone_surrogate = re.compile("[\ud800-\udfff]")
    try:
        data = json.loads(line.decode("utf-8"))  # strict: whatever PYTHONIOENCODING says
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"not an article (a JSON {type(data).__name__}, not an object)")
    key = data.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int | float) or (isinstance(key, float)
                                                                          and not math.isfinite(key)):
        raise ValueError(f"not an article (\"id\" must be a non-empty string or a number, not {json.dumps(key)})")
    key = key if isinstance(key, str) else json.dumps(key)
    if not key.strip() or lone_surrogate.search(key):
        raise ValueError("not an article (\"id\" must be a non-empty string of characters)")
    fields = {}
    for name in ("title", "text", "language"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"not an article (\"{name}\" must be a string, not {type(value).__name__})")
        # a lone surrogate (from a \\udXXX escape) cannot be written back out as UTF-8: one U+FFFD instead
        fields[name] = lone_surrogate.sub("\ufffd", value) if value else None
    return key, fields["title"] or "", fields["text"] or "", fields["language"]


@app.command()
def annotate(batch_size: Annotated[int, typer.Option(min=1)] = 32) -> None:
    """Annotate JSON lines from stdin ({"id", "title", "text", "language"?}); one annotation JSON line out each.

    No Kafka or Elasticsearch involved. A bad line (not UTF-8, not JSON, not an article: "id" must be a non-empty
    string or a number) is reported on stderr with its line number and skipped; the exit code is then 1. Only the
    first 100,000 characters of title + text are annotated: a longer article is annotated and reported on stderr.
    """
    from streams.nlp.annotate import MAX_CHARS, Annotator, Document

    settings = _settings()
    annotator = Annotator(settings.nlp_models)
    failures = 0

    def report(number: int, message: str) -> None:
        sys.stderr.buffer.write(f"line {number}: {message}\n".encode("utf-8", "backslashreplace"))
        sys.stderr.flush()

    for batch in _batches(iter(sys.stdin.buffer.readline, b""), batch_size):
        documents: list[tuple[int, Document]] = []
        for number, line in batch:
            try:
                key, title, text, language = _annotate_input(line)
            except ValueError as exc:
                failures += 1
                report(number, str(exc))
                continue
            document = Document(id=key, title=title, text=text, language_hint=language)
            length = len(title) + 2 + len(text)
            if length > MAX_CHARS:
                report(number, f"{json.dumps(key)}: title + text is {length} characters; annotated only up to "
                               f"character {MAX_CHARS} (truncated: the rest has no entities or topics)")
            documents.append((number, document))
        try:
            annotations = annotator.annotate([d for _, d in documents])
        except Exception:  # one document broke the batch: find it, annotate the others
            annotations = []
            for number, document in documents:
                try:
                    annotations += annotator.annotate([document])
                except Exception as exc:
                    failures += 1
                    report(number, f"annotation failed ({type(exc).__name__}: {exc})")
        for annotation in annotations:
            sys.stdout.buffer.write(annotation.model_dump_json().encode() + b"\n")
            sys.stdout.flush()
    raise typer.Exit(1 if failures else 0)


@app.command("parse-feed")
def parse_feed_command(source: Annotated[str, typer.Argument(help="A feed file path or an http(s) URL")]) -> None:
    """Print, as JSON lines, the normalised articles the connector would produce from one feed."""
    from connectors.rss.fetch import FeedFetcher
    from connectors.rss.parse import parse_feed

    settings = _settings()
    headers: dict[str, str] | None = None
    if source.startswith(("http://", "https://")):
        async def fetch() -> tuple[bytes, dict[str, str] | None, str | None]:
            fetcher = FeedFetcher(**settings.fetcher_options)
            try:
                result = await fetcher.fetch(source)
            finally:
                await fetcher.aclose()
            return result.body, result.headers, result.error

        data, headers, error = asyncio.run(fetch())
        if error:
            err.print(f"[red]{source}: {error}[/red]")
            raise typer.Exit(1)
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            err.print(f"[red]{source}: {exc.strerror}[/red]")
            raise typer.Exit(1) from exc
    parsed = parse_feed(data, feed_url=source, headers=headers)
    for article in parsed.articles:
        print(article.model_dump_json(), flush=True)
    for reason in parsed.rejected:
        err.print(f"rejected {reason}")
    if parsed.problem:
        err.print(f"{'warning' if parsed.articles else 'error'}: {parsed.problem}")
    raise typer.Exit(0 if parsed.articles or not parsed.problem else 1)


if __name__ == "__main__":
    app()
