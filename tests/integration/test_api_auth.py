"""The API token end to end: `newsdesk api` as a process, on loopback with NEWSDESK_API_TOKEN set, against the
session's OpenSearch; and `newsdesk api` on a public address without a token, which must not start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.elasticsearch import open_backend
from connectors.elasticsearch.index import ensure_index
from tests.integration.conftest import Engines, free_port, unique_alias, wait_until

pytestmark = pytest.mark.integration

TOKEN = "tok-" + "x" * 28


def create_index(url: str, alias: str) -> None:
    async def main() -> None:
        backend = await open_backend(url, "opensearch")
        try:
            await ensure_index(backend, alias)
        finally:
            await backend.close()

    asyncio.run(main())


@pytest.fixture(scope="module")
def api_url(engines: Engines, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    alias, port = unique_alias("auth"), free_port()
    create_index(engines.search_url, alias)
    data_dir = tmp_path_factory.mktemp("api-auth")
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_API_HOST": "127.0.0.1",
           "NEWSDESK_API_PORT": str(port), "NEWSDESK_API_TOKEN": TOKEN, "NEWSDESK_INDEX_ALIAS": alias,
           "NEWSDESK_ELASTICSEARCH_URL": engines.search_url, "NEWSDESK_SEARCH_ENGINE": "opensearch",
           "NEWSDESK_KAFKA_BOOTSTRAP": engines.bootstrap, "NEWSDESK_TOPIC_PREFIX": f"{alias}."}
    with open(data_dir / "api.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "api"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/health/live", timeout=2).status_code == 200, 60, "the API to serve")
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/search?q=grain"), ("GET", "/articles/a-1"), ("GET", "/health"), ("GET", "/alerts"),
    ("POST", "/alerts"), ("DELETE", "/alerts/x"), ("POST", "/alerts/x/enable"), ("POST", "/alerts/x/disable"),
    ("GET", "/no/such/route"),
])
def test_without_the_token_every_route_but_the_probes_is_401(api_url: str, method: str, path: str) -> None:
    missing = httpx.request(method, api_url + path, json={"name": "n", "query": "q"}, timeout=30)
    assert missing.status_code == 401, missing.text
    assert missing.headers["www-authenticate"] == 'Bearer realm="newsdesk"'
    assert missing.json() == {"error": "this API needs a token: Authorization: Bearer <NEWSDESK_API_TOKEN>"}
    for wrong in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer"):
        refused = httpx.request(method, api_url + path, headers={"Authorization": wrong}, timeout=30)
        assert refused.status_code == 401, (wrong, refused.text)
        assert refused.headers["www-authenticate"] == 'Bearer realm="newsdesk", error="invalid_token"'
        assert refused.json() == {"error": "invalid API token"}
        assert TOKEN not in refused.text


def test_with_the_token_the_api_answers(api_url: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    health = httpx.get(f"{api_url}/health", headers=auth, timeout=30)
    assert health.status_code == 200 and health.json() == {"search": "ok", "engine": "opensearch"}
    page = httpx.get(f"{api_url}/search", params={"q": "grain"}, headers=auth, timeout=30)
    assert page.status_code == 200 and page.json() == {"total": 0, "hits": [], "next": None}
    bad = httpx.get(f"{api_url}/search", params={"limit": "0"}, headers=auth, timeout=30)
    assert bad.status_code == 400 and "limit" in bad.json()["error"]  # past the token, the usual checks
    missing = httpx.get(f"{api_url}/articles/a-1", headers={"authorization": f"bearer {TOKEN}"}, timeout=30)
    assert missing.status_code == 404 and missing.json() == {"error": "no such article"}


def test_the_probes_and_the_document_need_no_token(api_url: str) -> None:
    assert httpx.get(f"{api_url}/health/live", timeout=30).json() == {"live": True}
    assert httpx.get(f"{api_url}/health/ready", timeout=30).json() == {"ready": True, "engine": "opensearch"}
    document = httpx.get(f"{api_url}/openapi.json", timeout=30).json()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_on_a_public_address_without_a_token_the_api_does_not_start(tmp_path: Path, host: str) -> None:
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(tmp_path), "NEWSDESK_API_HOST": host,
           "NEWSDESK_API_PORT": str(free_port())}
    env.pop("NEWSDESK_API_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "newsdesk.cli", "api"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert result.stderr == (f"newsdesk api: refusing to serve the API on {host} without a token: set "
                             "NEWSDESK_API_TOKEN, or NEWSDESK_API_HOST=127.0.0.1\n")
    assert "Traceback" not in result.stdout + result.stderr
