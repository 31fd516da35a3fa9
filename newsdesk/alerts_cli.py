"""`newsdesk alerts`: manage alert subscriptions (kept in Kafka, `newsdesk.subscriptions`; a running worker picks
a change up within seconds) and try a query against the indexed articles."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from newsdesk.settings import Settings
    from newsdesk.subscriptions import SubscriptionStore

alerts_app = typer.Typer(help="Alert subscriptions: a saved query (the search query language) whose new matching "
                              "articles are pushed to a webhook, e-mail, Slack or the log.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)
Owner = Annotated[str, typer.Option("--owner", help="Whose subscription (owner/name is its key)")]


def _settings() -> Settings:
    from newsdesk.cli import _settings as configured  # logging set up as for every command

    settings = configured()
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    return settings


def _store(settings: Settings) -> SubscriptionStore:
    from newsdesk.subscriptions import SubscriptionStore

    return SubscriptionStore(settings.bootstrap, settings.topic_subscriptions, client_id=f"{settings.app_id}-alerts")


def _refuse(exc: Exception) -> typer.Exit:
    """Print an input error (with a caret under the query for a query error); exit code 2."""
    from newsdesk.subscriptions import QueryRefused

    err.print(f"[red]refused[/red]: {escape(str(exc))}", highlight=False)
    if isinstance(exc, QueryRefused):
        err.print(f"  {escape(exc.query)}\n  {' ' * exc.position}^", highlight=False)
    return typer.Exit(2)


def _kafka_failed(settings: Settings, exc: Exception) -> typer.Exit:
    err.print(f"[red]cannot reach the subscriptions topic[/red] ({settings.bootstrap}): {escape(str(exc))}",
              highlight=False)
    return typer.Exit(1)


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Argument(help="The subscription's name (letters, digits, . _ -)")],
    query: Annotated[str, typer.Argument(help="What to alert on, in the search query language "
                                              "(docs/query-language.md); try it first with `alerts test`")],
    webhook: Annotated[list[str] | None, typer.Option("--webhook", help="POST each alert as JSON, signed "
                                                      "(HMAC-SHA256 with the secret printed once); repeatable")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="Mail each alert here; repeatable")] = None,
    slack: Annotated[list[str] | None, typer.Option("--slack", help="A Slack incoming-webhook URL; "
                                                    "repeatable")] = None,
    owner: Owner = "default",
    updates: Annotated[bool, typer.Option("--updates", help="Alert again when a new version of an article "
                                                            "matches")] = False,
) -> None:
    """Add a subscription (or change the query, channels and --updates of an existing one, keeping its secret).
    Without a channel, alerts go to the log (and always to the `alerts` topic)."""
    from newsdesk.subscriptions import SubscriptionError, add

    settings = _settings()
    try:
        subscription, created = asyncio.run(add(
            _store(settings), owner, name, query, webhooks=webhook or [], emails=email or [], slacks=slack or [],
            updates=updates, allow_private=settings.allow_private_addresses))
    except SubscriptionError as exc:
        raise _refuse(exc) from None
    except Exception as exc:
        raise _kafka_failed(settings, exc) from None
    if created:
        print(f"added {subscription.key}")
        print(f"signing secret (shown once; webhooks are signed with it): {subscription.secret}")
    else:
        print(f"updated {subscription.key} (its signing secret is unchanged)")


@alerts_app.command("list")
def alerts_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False) -> None:
    """The subscriptions, without their secrets, with their delivery history (sent, failures, last error)."""
    from newsdesk.subscriptions import public_view
    from streams.delivery_status import read_history

    settings = _settings()
    try:
        subscriptions = _store(settings).load()
        history = read_history(settings.bootstrap, settings.app_id)
    except Exception as exc:
        raise _kafka_failed(settings, exc) from None
    views = [{**public_view(s), "delivery": history.get(key, {})} for key, s in sorted(subscriptions.items())]
    if as_json:
        for view in views:
            print(json.dumps(view, ensure_ascii=False))
        return
    table = Table("subscription", "on", "query", "channels", "updates", "sent", "failures", "last sent",
                  "last error", title=f"{len(views)} subscriptions")
    for view in views:
        channels = ", ".join(f"{c['kind']}:{c['target']}" if c["target"] else c["kind"] for c in view["channels"])
        delivery = view["delivery"]
        table.add_row(escape(view["key"]), "yes" if view["enabled"] else "no", escape(view["query"]),
                      escape(channels), "yes" if view["updates"] else "no", str(delivery.get("sent", 0)),
                      str(delivery.get("failures", 0)), str(delivery.get("last_sent_at") or ""),
                      escape(str(delivery.get("last_error") or "")))
    Console().print(table)


def _change(name: str, owner: str, action: str) -> None:
    from newsdesk.subscriptions import NotFound, key_of

    settings = _settings()
    store = _store(settings)
    key = key_of(owner, name)
    try:
        if action == "remove":
            store.remove(key)
        else:
            store.set_enabled(key, action == "enable")
    except NotFound:
        err.print(f"[red]no subscription[/red] {escape(key)}", highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:
        raise _kafka_failed(settings, exc) from None
    print(f"{action}d {key}")


@alerts_app.command("remove")
def alerts_remove(name: str, owner: Owner = "default") -> None:
    """Remove a subscription (it stops matching within seconds)."""
    _change(name, owner, "remove")


@alerts_app.command("enable")
def alerts_enable(name: str, owner: Owner = "default") -> None:
    """Turn a subscription on."""
    _change(name, owner, "enable")


@alerts_app.command("disable")
def alerts_disable(name: str, owner: Owner = "default") -> None:
    """Turn a subscription off (kept, never matches)."""
    _change(name, owner, "disable")


@alerts_app.command("test")
def alerts_test(
    query: Annotated[str, typer.Argument(help="A subscription's query, in the search query language")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line")] = False,
) -> None:
    """The indexed articles this query matches: what a subscription with it would have alerted on (newest
    first). The same search as `newsdesk search`, and the percolator checks each query the same way."""
    from connectors.elasticsearch import SearchError, redact_url
    from connectors.elasticsearch.search import SearchRequest
    from newsdesk.bootstrap import search_once
    from newsdesk.subscriptions import SubscriptionError, check_query

    try:
        check_query(query)
    except SubscriptionError as exc:
        raise _refuse(exc) from None
    settings = _settings()
    request = SearchRequest(query=query, limit=limit, highlight=False)

    try:
        page = asyncio.run(search_once(settings, request))
    except SearchError as exc:
        err.print(f"[red]search failed[/red] ({escape(redact_url(settings.es_url))}): {escape(str(exc))}",
                  highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        for hit in page.hits:
            print(json.dumps(hit, ensure_ascii=False))
        return
    table = Table("date", "lang", "title", "source", title=f"{page.total} articles would have matched")
    for hit in page.hits:
        table.add_row((hit.get("published_at") or hit.get("fetched_at") or "")[:16], hit.get("language", ""),
                      escape(hit.get("title", "")), escape(hit.get("feed_title") or hit.get("site") or ""))
    Console().print(table)
