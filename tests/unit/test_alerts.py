"""Alert matching's pure parts: alert ids, percolate bodies and answers, the subscription store's checks and
views, and `newsdesk alerts` refusing bad input before it reaches Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.elasticsearch.index import mapping_properties
from connectors.elasticsearch.percolate import (
    Match,
    alert_id,
    alerts_for,
    matches_of,
    percolate_body,
    percolator_index,
    percolator_index_body,
    query_id,
    slots_of,
    subscribers_body,
    subscription_document,
    upsert_operations,
)
from newsdesk.subscriptions import (
    QueryRefused,
    SubscriptionError,
    apply_records,
    channels_from,
    check_name,
    check_query,
    check_url,
    new_subscription,
    public_view,
    shown_url,
)
from streams.records import Channel, Subscription

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def doc(article_id: str, version: int = 1, **extra: object) -> dict:
    return {"id": article_id, "version": version, "title": f"t {article_id}", "url": f"https://x/{article_id}",
            "language": "it", "persons": ["Vladimir Putin"], "topic_names": ["politics"],
            "published_at": "2026-01-01T10:00:00+00:00", "text": "long body", "content_html": "<p>x</p>", **extra}


# -- alert ids ---------------------------------------------------------------------------------------------------

def test_alert_id_is_stable_and_specific() -> None:
    assert alert_id("a/s", "art1") == alert_id("a/s", "art1")
    assert len(alert_id("a/s", "art1")) == 32
    assert alert_id("a/s", "art1") != alert_id("a/t", "art1") != alert_id("a/s", "art2")
    assert alert_id("a/s", "art1", 2) != alert_id("a/s", "art1", 3) != alert_id("a/s", "art1")
    # no ambiguity from joining: ("a/s", "x1") is not ("a/sx", "1")
    assert alert_id("a/s", "x1") != alert_id("a/sx", "1")


def test_an_updated_article_keeps_its_alert_id_unless_the_subscription_asks_for_updates() -> None:
    plain, updates = Match("o/plain", False, (0,)), Match("o/updates", True, (0,))
    first = {a.subscription: a for a in alerts_for([plain, updates], [doc("art", 1)], NOW)}
    second = {a.subscription: a for a in alerts_for([plain, updates], [doc("art", 2)], NOW)}
    assert first["o/plain"].id == second["o/plain"].id  # the delivery side sends it once
    assert first["o/updates"].id != second["o/updates"].id  # a new version is a new alert
    assert second["o/plain"].article_version == 2


def test_alerts_for_maps_slots_to_articles() -> None:
    documents = [doc("a"), doc("b"), doc("c")]
    alerts = alerts_for([Match("o/s1", False, (0, 2)), Match("o/s2", False, (1,)), Match("o/s3", False, (7,))],
                        documents, NOW)
    assert sorted((a.subscription, a.article_id) for a in alerts) == [("o/s1", "a"), ("o/s1", "c"), ("o/s2", "b")]
    alert = alerts[0]
    assert alert.title == "t a" and alert.url == "https://x/a" and alert.language == "it"
    assert alert.persons == ["Vladimir Putin"] and alert.topics == ["politics"]
    assert alert.published_at == datetime(2026, 1, 1, 10, tzinfo=UTC) and alert.matched_at == NOW


def test_the_same_article_twice_in_a_batch_alerts_once_for_its_newest_version() -> None:
    alerts = alerts_for([Match("o/s", False, (0, 1))], [doc("a", 3), doc("a", 5)], NOW)
    assert [(a.article_id, a.article_version) for a in alerts] == [("a", 5)]


# -- the percolator index and requests ----------------------------------------------------------------------------

def test_percolator_index_has_the_articles_mapping_and_the_subscription_fields() -> None:
    body = percolator_index_body()
    properties = body["mappings"]["properties"]
    assert properties["query"] == {"type": "percolator"}
    for name in ("subscription", "owner", "enabled", "updates"):
        assert properties[name] == {"type": "keyword"}
    for name, mapping in mapping_properties().items():
        assert properties[name] == mapping  # same analyzers, nested entities and topics
    assert "folded" in body["settings"]["analysis"]["analyzer"]
    assert percolator_index("articles") == "articles-subscriptions"


def test_percolate_body_percolates_the_queries_and_leaves_out_what_no_query_reads() -> None:
    body = percolate_body([doc("a"), doc("b")])
    [percolate, kind] = body["query"]["bool"]["filter"]
    assert percolate["percolate"]["field"] == "query"
    assert [d["id"] for d in percolate["percolate"]["documents"]] == ["a", "b"]
    assert all("text" not in d and "content_html" not in d for d in percolate["percolate"]["documents"])
    assert kind == {"term": {"kind": "query"}}
    assert body["sort"] == [{"query_id": "asc"}] and "search_after" not in body and body["_source"] is False
    assert percolate_body([doc("a")], after=["q1"])["search_after"] == ["q1"]


def test_subscribers_body_asks_for_the_enabled_subscribers_of_the_hits() -> None:
    body = subscribers_body(["q1", "q2"], after=["o/s"])
    assert body["query"]["bool"]["filter"] == [{"term": {"kind": "subscription"}}, {"term": {"enabled": True}},
                                               {"terms": {"query_id": ["q1", "q2"]}}]
    assert body["sort"] == [{"subscription": "asc"}] and body["search_after"] == ["o/s"]


def test_no_query_reads_what_the_percolator_leaves_out() -> None:
    """The percolated documents lack the nested entities and topics: no compiled query may name them."""
    from connectors.elasticsearch.percolate import UNSEARCHED_FIELDS
    from connectors.elasticsearch.query_language import compile_query

    for text in ('person:"Vladimir Putin" AND org:NATO', 'place:Rome OR entity:"Mario Draghi"',
                 'topic:"politics" AND lang:it', 'source:example.org "peace talks" AND NOT (war OR truce)'):
        compiled = str(compile_query(text))
        assert "nested" not in compiled
        assert not [field for field in UNSEARCHED_FIELDS if f"'{field}." in compiled or f"'{field}'" in compiled]


def test_slots_and_matches_of_read_the_two_answers() -> None:
    percolated = {"hits": {"hits": [
        {"_id": "query:q1", "fields": {"_percolator_document_slot": [0, 2]}},
        {"_id": "query:q2"},
    ]}}
    assert slots_of(percolated, 3) == {"q1": (0, 2), "q2": ()}
    assert slots_of(percolated, 1)["q2"] == (0,)  # one document: the slot may be left out
    subscribers = {"hits": {"hits": [
        {"_id": "o/s1", "_source": {"subscription": "o/s1", "updates": False, "query_id": "q1"}},
        {"_id": "o/s2", "_source": {"subscription": "o/s2", "updates": "true", "query_id": "q1"}},
        {"_id": "o/s3", "_source": {"subscription": "o/s3", "updates": "false", "query_id": "q2"}},
        {"_id": "o/s4", "_source": {"subscription": "o/s4", "query_id": "q9"}},  # not among the hits: no match
    ]}}
    assert matches_of(subscribers, {"q1": (0, 2), "q2": (1,)}) == [
        Match("o/s1", False, (0, 2)), Match("o/s2", True, (0, 2)), Match("o/s3", False, (1,))]


def test_subscription_document_and_bulk_operations() -> None:
    sub = Subscription(owner="ann", name="s", query="putin", enabled=False, updates=True, secret="hidden",
                       created_at=NOW, updated_at=NOW)
    document = subscription_document(sub, {"match_all": {}})
    assert document == {"query": {"match_all": {}}, "subscription": "ann/s", "owner": "ann", "enabled": False,
                        "updates": True}
    assert "hidden" not in str(document)
    qid = query_id({"match_all": {}})
    stored = {"subscription": "ann/s", "owner": "ann", "enabled": False, "updates": True, "kind": "subscription",
              "query_id": qid}
    assert upsert_operations("x", [("ann/s", document), ("ann/t", None), ("bob/u", {**document, "owner": "bob"})]) == [
        {"index": {"_index": "x-subscriptions", "_id": "ann/s"}}, stored,
        {"index": {"_index": "x-subscriptions", "_id": f"query:{qid}"}},  # after its first subscription
        {"query": {"match_all": {}}, "kind": "query", "query_id": qid},
        {"delete": {"_index": "x-subscriptions", "_id": "ann/t"}},
        {"index": {"_index": "x-subscriptions", "_id": "bob/u"}}, {**stored, "owner": "bob"}]  # the query once
    assert query_id({"a": 1, "b": [2]}) == query_id({"b": [2], "a": 1}) != query_id({"a": 2, "b": [2]})


# -- the subscription store's pure parts --------------------------------------------------------------------------

def test_names_and_queries_are_checked() -> None:
    assert check_name("putin-xi_2.0") == "putin-xi_2.0"
    for bad in ("", "a/b", "-x", "a b", "x" * 101):
        with pytest.raises(SubscriptionError):
            check_name(bad)
    with pytest.raises(QueryRefused) as refused:
        check_query("putin AND (xi")
    assert refused.value.position == 10 and "never closed" in str(refused.value)
    assert "column 11" in str(refused.value)


def test_new_subscription_gets_a_secret_and_an_update_keeps_it() -> None:
    created = new_subscription("ann", "s", "putin", [Channel(kind="log")], now=NOW)
    assert len(created.secret) >= 40 and created.enabled and created.key == "ann/s"
    disabled = created.model_copy(update={"enabled": False})
    updated = new_subscription("ann", "s", "xi", [], updates=True, existing=disabled,
                               now=datetime(2026, 2, 1, tzinfo=UTC))
    assert (updated.secret, updated.created_at, updated.enabled) == (created.secret, NOW, False)
    assert updated.query == "xi" and updated.updates and updated.updated_at.month == 2
    assert new_subscription("ann", "t", "putin", []).secret != created.secret


def test_listings_never_show_secrets() -> None:
    sub = Subscription(owner="ann", name="s", query="q", secret="s3cr3t-value", created_at=NOW, updated_at=NOW,
                       channels=[Channel(kind="webhook", target="https://user:pw@hooks.example/in?token=abc"),
                                 Channel(kind="slack", target="https://hooks.slack.example/services/TEAMX/BOTY/XYZ"),
                                 Channel(kind="email", target="ann@example.org")])
    view = public_view(sub)
    text = str(view)
    for secret in ("s3cr3t-value", "pw", "abc", "XYZ", "TEAMX"):
        assert secret not in text
    assert view["channels"][0]["target"] == "https://hooks.example/in?…"
    assert view["channels"][1]["target"] == "https://hooks.slack.example/…"
    assert view["channels"][2]["target"] == "ann@example.org" and view["key"] == "ann/s"
    assert shown_url("http://h:8080/x") == "http://h:8080/x"


def test_records_fold_with_tombstones() -> None:
    sub = new_subscription("ann", "s", "putin", [], now=NOW)
    state: dict[str, Subscription] = {}
    apply_records(state, [(b"ann/s", sub.to_bytes()), (b"ann/t", b"{not json"), (None, b"x")])
    assert list(state) == ["ann/s"]
    apply_records(state, [(b"ann/s", None)])
    assert state == {}


def test_webhook_and_slack_urls_go_through_the_address_guard() -> None:
    for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/x", "http://169.254.169.254/"):
        with pytest.raises(SubscriptionError, match="not a public one"):
            asyncio.run(check_url(url, "webhook", allow_private=False))
        assert asyncio.run(check_url(url, "webhook", allow_private=True)) == url
    with pytest.raises(SubscriptionError, match="not an http"):
        asyncio.run(check_url("ftp://example.org/x", "slack", allow_private=True))
    assert asyncio.run(check_url("https://93.184.215.14/hook", "webhook", allow_private=False))
    channels = asyncio.run(channels_from(emails=["a@example.org"]))
    assert [c.kind for c in channels] == ["email"]
    assert [c.kind for c in asyncio.run(channels_from())] == ["log"]
    with pytest.raises(SubscriptionError, match="e-mail"):
        asyncio.run(channels_from(emails=["not-an-address"]))


# -- the CLI refuses bad input before touching Kafka ---------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", raising=False)
    # a Kafka address where nothing listens: the refusals below must come before any connection
    return {"NEWSDESK_DATA_DIR": str(tmp_path), "NEWSDESK_KAFKA_BOOTSTRAP": "127.0.0.1:1"}


def test_cli_add_refuses_bad_input(cli_env: dict[str, str]) -> None:
    from newsdesk.cli import app

    runner = CliRunner()
    cases = [
        (["alerts", "add", "s", "putin AND"], "nothing after AND"),
        (["alerts", "add", "s", "putin", "--webhook", "http://127.0.0.1:8080/hook"], "loopback"),
        (["alerts", "add", "s", "putin", "--slack", "http://192.168.1.1/x"], "private"),
        (["alerts", "add", "s", "putin", "--email", "nobody"], "e-mail"),
        (["alerts", "add", "a/b", "putin"], "invalid name"),
        (["alerts", "add", "s", "putin", "--owner", "x y"], "invalid owner"),
        (["alerts", "test", "topic:"], "needs a value"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    result = runner.invoke(app, ["alerts", "add", "s", "putin AND (xi"], env=cli_env)
    assert "putin AND (xi\n" in result.output and "           ^" in result.output  # a caret under the '('


# -- the HTTP API refuses bad input with JSON errors ---------------------------------------------------------------

def test_api_add_refuses_bad_input(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from newsdesk.api import make_app
    from newsdesk.settings import Settings

    settings = Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:1", elasticsearch_url="http://127.0.0.1:1",
                        allow_private_addresses=False)

    async def main() -> list[tuple[int, dict]]:
        async with TestClient(TestServer(make_app(settings))) as client:
            answers = []
            for body in ({"name": "s"}, {"name": "s", "query": "putin AND"},
                         {"name": "s", "query": "putin", "webhook": "http://127.0.0.1/x"},
                         {"name": "s", "query": "putin", "email": ["nobody"]},
                         {"name": "s", "query": "putin", "slack": 3}):
                response = await client.post("/alerts", json=body)
                answers.append((response.status, await response.json()))
            response = await client.post("/alerts", data=b"{not json")
            answers.append((response.status, await response.json()))
            return answers

    answers = asyncio.run(main())
    assert [status for status, _ in answers] == [400] * 6, answers
    assert "name" in answers[0][1]["error"]
    assert answers[1][1]["position"] == 6 and "nothing after AND" in answers[1][1]["error"]
    assert "loopback" in answers[2][1]["error"]
    assert "e-mail" in answers[3][1]["error"]
    assert "slack must be" in answers[4][1]["error"]
    assert "JSON" in answers[5][1]["error"]


# -- the delivery topics are bootstrap's ----------------------------------------------------------------------------

def test_bootstrap_creates_the_delivery_topics(tmp_path: Path) -> None:
    """Delivery creates no topic itself: a worker recovering a table whose changelog is missing would stall, and two
    places deciding retention drift apart. Bootstrap's list holds them, the changelogs compacted."""
    from newsdesk.bootstrap import changelog, topic_configs
    from newsdesk.settings import Settings

    settings = Settings(data_dir=tmp_path, topic_prefix="x.", app_id="newsdesk-x")
    configs = topic_configs(settings)
    for name in ("x.alerts", "x.alerts.dead", "x.newsdesk.subscriptions", "newsdesk-x-alert-deliveries-changelog",
                 "newsdesk-x-alert-history-changelog"):
        assert name in configs, name
    assert configs["x.alerts.dead"]["cleanup.policy"] == "delete"
    for table in ("alert-deliveries", "alert-history"):
        assert configs[changelog(settings, table)]["cleanup.policy"] == "compact"
    import streams.delivery_status as status
    assert changelog(settings, status.HISTORY_TABLE) == status.history_topic(settings.app_id)
    delivery = Path(__file__).parents[2] / "streams" / "delivery.py"
    assert "create_topics" not in delivery.read_text()  # one place creates topics
