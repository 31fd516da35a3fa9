"""The /alerts HTTP API on the real engines: the API app (newsdesk/api.py) served on a loopback socket, its store
reading and writing the session's real Kafka, under a topic prefix of this module's own (created by bootstrap as
`newsdesk up` creates them). The refusals that never reach Kafka are unit-tested (tests/unit/test_alerts.py);
here the happy path and a bad query, end to end through the topic."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from newsdesk.api import make_app
from newsdesk.bootstrap import create_topics
from newsdesk.settings import Settings
from newsdesk.subscriptions import SubscriptionStore
from tests.integration.conftest import Engines
from tests.loopback import QuietHandler, serve


class Hook(QuietHandler):
    def do_POST(self) -> None:
        self.send_response(204)
        self.end_headers()


@pytest.fixture(scope="module")
def api_settings(engines: Engines, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    name = f"api-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path_factory.mktemp("alerts-api"), kafka_bootstrap=engines.bootstrap,
                        elasticsearch_url=engines.search_url, search_engine="opensearch",
                        topic_prefix=f"{name}.", app_id=f"newsdesk-{name}", index_alias=f"{name}-articles",
                        allow_private_addresses=True)  # the webhook receiver is on 127.0.0.1
    create_topics(settings)
    return settings


@pytest.fixture(scope="module")
def webhook() -> Iterator[str]:
    server, url = serve(Hook)
    yield f"{url}/hook?token=abc"
    server.shutdown()


def call(settings: Settings, *requests: tuple[str, str, dict[str, Any] | None]) -> list[tuple[int, Any]]:
    """Each (method, path, JSON body) in order, over HTTP to the API app on a loopback port."""

    async def main() -> list[tuple[int, Any]]:
        async with TestClient(TestServer(make_app(settings))) as client:
            answers = []
            for method, path, body in requests:
                response = await client.request(method, path, json=body)
                answers.append((response.status, await response.json()))
            return answers

    return asyncio.run(main())


def test_subscription_lifecycle(api_settings: Settings, webhook: str) -> None:
    """POST creates (201, the secret shown once), GET lists it without the secret (nor the webhook's query string),
    disable/enable flip it, DELETE removes it; every step is what the topic holds afterwards."""
    body = {"name": "putin-watch", "owner": "desk", "query": 'person:"Vladimir Putin" AND lang:en',
            "webhook": webhook}
    (created_status, created), (listed_status, listed) = call(
        api_settings, ("POST", "/alerts", body), ("GET", "/alerts?owner=desk", None))
    assert created_status == 201, created
    assert created["key"] == "desk/putin-watch" and created["enabled"] is True
    assert isinstance(created["secret"], str) and len(created["secret"]) >= 32
    assert listed_status == 200
    [shown] = listed["subscriptions"]
    assert shown["key"] == "desk/putin-watch" and shown["query"] == body["query"]
    assert "secret" not in shown and created["secret"] not in str(listed)
    assert shown["channels"] == [{"kind": "webhook", "target": webhook.split("?")[0] + "?…"}]

    store = SubscriptionStore(api_settings.bootstrap, api_settings.topic_subscriptions, timeout_s=30)
    stored = store.load()["desk/putin-watch"]
    assert stored.secret == created["secret"] and stored.channels[0].target == webhook

    answers = call(api_settings, ("POST", "/alerts/putin-watch/disable?owner=desk", None),
                   ("GET", "/alerts", None),
                   ("POST", "/alerts/putin-watch/enable?owner=desk", None),
                   ("POST", "/alerts", {**body, "query": 'person:"Vladimir Putin"'}))
    (disabled_status, disabled), (_, after_disable), (enabled_status, enabled), (updated_status, updated) = answers
    assert disabled_status == 200 and disabled["enabled"] is False
    assert [s["enabled"] for s in after_disable["subscriptions"] if s["key"] == "desk/putin-watch"] == [False]
    assert enabled_status == 200 and enabled["enabled"] is True
    assert updated_status == 200 and "secret" not in updated and updated["query"] == 'person:"Vladimir Putin"'
    assert store.load()["desk/putin-watch"].secret == created["secret"]  # an update keeps the secret

    (removed_status, removed), (listed_status, listed), (again_status, again) = call(
        api_settings, ("DELETE", "/alerts/putin-watch?owner=desk", None), ("GET", "/alerts?owner=desk", None),
        ("DELETE", "/alerts/putin-watch?owner=desk", None))
    assert removed_status == 200 and removed == {"removed": "desk/putin-watch"}
    assert listed_status == 200 and listed == {"subscriptions": []}
    assert again_status == 404 and "desk/putin-watch" in again["error"]
    assert "desk/putin-watch" not in store.load()


def test_bad_query_is_a_400_with_its_position(api_settings: Settings) -> None:
    """Refused before anything is written: the topic does not gain the subscription."""
    [(status, answer)] = call(api_settings, ("POST", "/alerts", {"name": "broken", "query": 'topic:"x" AND (putin'}))
    assert status == 400, answer
    assert answer["position"] == 14  # 0-based: the '(' never closed
    assert "never closed" in answer["error"]
    store = SubscriptionStore(api_settings.bootstrap, api_settings.topic_subscriptions, timeout_s=30)
    assert "default/broken" not in store.load()


def test_unknown_subscription_is_a_404(api_settings: Settings) -> None:
    answers = call(api_settings, ("POST", "/alerts/nobody/enable", None), ("DELETE", "/alerts/nobody", None))
    assert [status for status, _ in answers] == [404, 404]
    assert all("default/nobody" in answer["error"] for _, answer in answers)
