"""The embedded default: a noida-db child speaking the Kafka protocol and the Elasticsearch API.

noida-db is a development engine (not crash-durable, search scans every document): newsdesk keeps it
bounded (topic retention, an index cap) and always stops it with SIGTERM, waiting for its final save.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from newsdesk.processes import Child
from newsdesk.settings import Settings


def noida_binary() -> str:
    try:
        import noida_db

        candidate = Path(noida_db.__file__).parent / "noida-db"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("noida-db")
    if not found:
        raise RuntimeError("noida-db is not installed: `pip install 'newsdesk[embedded]'`, or set "
                           "NEWSDESK_KAFKA_BOOTSTRAP and NEWSDESK_ELASTICSEARCH_URL to use existing clusters")
    return found


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def noida_child(settings: Settings) -> Child:
    for port in (settings.embedded_kafka_port, settings.embedded_elasticsearch_port):
        if _port_in_use(port):
            raise RuntimeError(f"port {port} is already in use (another newsdesk running?); choose others with "
                               "NEWSDESK_EMBEDDED_KAFKA_PORT / NEWSDESK_EMBEDDED_ELASTICSEARCH_PORT")
    settings.noida_dir.mkdir(parents=True, exist_ok=True)
    argv = [noida_binary(), "start", "--data-dir", str(settings.noida_dir), "--host", "127.0.0.1",
            "--only", "kafka,elasticsearch",
            "--kafka-port", str(settings.embedded_kafka_port),
            "--elasticsearch-port", str(settings.embedded_elasticsearch_port)]
    return Child("noida-db", argv, log_path=settings.data_dir / "logs" / "noida-db.log")
