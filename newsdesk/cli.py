"""The `newsdesk` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from newsdesk.settings import Settings, load

app = typer.Typer(help="newsdesk: RSS/Atom feeds in, annotated, searchable articles out (Kafka, Faust, "
                       "Elasticsearch).", no_args_is_help=True, add_completion=False)
feeds_app = typer.Typer(help="Manage the feed list (kept under NEWSDESK_DATA_DIR; picked up live by `up`).",
                        no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
err = Console(stderr=True)


def _settings() -> Settings:
    settings = load()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


@app.command()
def up(samples: Annotated[bool, typer.Option(help="Serve the bundled sample feeds on loopback and register "
                                                  "them with a few real public feeds")] = False) -> None:
    """Run the main job: start (or connect to) Kafka and Elasticsearch, then poll, annotate and index until stopped."""
    from newsdesk import service

    raise typer.Exit(service.run(_settings(), with_samples=samples))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(ctx: typer.Context) -> None:
    """Run one Faust worker against already running services (scale out by starting more)."""
    sys.argv = ["newsdesk-worker", "worker", *ctx.args]
    from streams.app import main

    main()


@feeds_app.command("add")
def feeds_add(urls: Annotated[list[str], typer.Argument(help="Feed URLs (http or https)")]) -> None:
    """Add feeds; a running `newsdesk up` polls them within a minute."""
    from connectors.rss.registry import FeedRegistry

    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        err.print(f"[red]not an http(s) URL:[/red] {', '.join(bad)}")
        raise typer.Exit(2)
    added = FeedRegistry(_settings().registry_path).add(urls)
    for url in urls:
        print(f"{'added' if url in added else 'already present'}: {url}")


@feeds_app.command("remove")
def feeds_remove(url: str) -> None:
    """Remove a feed (articles already indexed stay)."""
    from connectors.rss.registry import FeedRegistry

    if not FeedRegistry(_settings().registry_path).remove(url):
        err.print(f"no such feed: {url}")
        raise typer.Exit(1)


@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False) -> None:
    """List the feeds with their health: last success, last error, consecutive failures, items seen."""
    from dataclasses import asdict

    from connectors.rss.registry import FeedRegistry

    feeds = FeedRegistry(_settings().registry_path).list()
    if as_json:
        for feed in feeds:
            print(json.dumps(asdict(feed)))
        return
    table = Table("feed", "enabled", "items", "failures", "last error")
    for feed in feeds:
        table.add_row(feed.url, "yes" if feed.enabled else "no", str(feed.items_seen),
                      str(feed.consecutive_failures), feed.last_error or "")
    Console().print(table)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find in title, summary and text")],
    lang: Annotated[str | None, typer.Option("--lang", help="Only articles in this language (it, en, ...)")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only articles naming this entity")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line")] = False,
) -> None:
    """Search the indexed articles, newest first."""
    from connectors.elasticsearch.search import SearchRequest
    from connectors.elasticsearch.search import search as run_search
    from newsdesk.bootstrap import elasticsearch_client

    settings = _settings()
    with elasticsearch_client(settings) as es:
        try:
            total, hits = run_search(es, settings.index_alias,
                                     SearchRequest(query=query, language=lang, entity=entity, limit=limit))
        except Exception as exc:
            err.print(f"[red]search failed[/red] ({settings.es_url}): {exc}")
            raise typer.Exit(1) from exc
    if as_json:
        for hit in hits:
            print(json.dumps(hit, ensure_ascii=False))
        return
    table = Table("date", "lang", "title", "source", "top entities", title=f"{total} articles")
    for hit in hits:
        names = [e["name"] for e in sorted(hit.get("entities", []), key=lambda e: -e["mentions"])[:4]]
        table.add_row((hit.get("published_at") or hit.get("fetched_at") or "")[:16], hit.get("language", ""),
                      hit.get("title", ""), hit.get("feed_title") or hit.get("site") or "", ", ".join(names))
    Console().print(table)


def _batches(lines: Iterator[str], size: int) -> Iterator[list[tuple[int, str]]]:
    numbered = ((n, line) for n, line in enumerate(lines, 1) if line.strip())
    while batch := list(islice(numbered, size)):
        yield batch


@app.command()
def annotate(batch_size: Annotated[int, typer.Option(min=1)] = 32) -> None:
    """Annotate JSON lines from stdin ({"id", "title", "text", "language"?}); one annotation JSON line out each.

    No Kafka or Elasticsearch involved. A bad line is reported on stderr (with its line number) and skipped;
    the exit code is then 1.
    """
    from streams.nlp.annotate import Annotator, Document

    settings = _settings()
    annotator = Annotator(settings.nlp_models)
    failures = 0
    for batch in _batches(sys.stdin, batch_size):
        documents = []
        for number, line in batch:
            try:
                data = json.loads(line)
                documents.append(Document(id=str(data["id"]), title=str(data.get("title") or ""),
                                          text=str(data.get("text") or ""), language_hint=data.get("language")))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                failures += 1
                err.print(f"line {number}: not an article ({type(exc).__name__}: {exc})")
        for annotation in annotator.annotate(documents):
            print(annotation.model_dump_json(), flush=True)
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
            fetcher = FeedFetcher(user_agent=settings.user_agent, timeout_s=settings.fetch_timeout_s,
                                  max_bytes=settings.fetch_max_bytes)
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
