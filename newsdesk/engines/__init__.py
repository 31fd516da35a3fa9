"""The embedded default: real Apache Kafka and OpenSearch JVMs, resolved from Maven Central and supervised by
`newsdesk up` (newsdesk/supervisor.py). Production points NEWSDESK_KAFKA_BOOTSTRAP and NEWSDESK_ELASTICSEARCH_URL
at clusters instead, and nothing here runs.
"""

from __future__ import annotations

from newsdesk.engines import kafka, opensearch
from newsdesk.engines.base import Service
from newsdesk.engines.maven import EngineUnavailable
from newsdesk.settings import Settings

__all__ = ["EngineUnavailable", "Service", "embedded_services"]


def embedded_services(settings: Settings) -> list[Service]:
    """The engines `up` must run itself, in start order: none when both clusters are given."""
    services = []
    if not settings.kafka_bootstrap:
        services.append(kafka.service(settings))
    if not settings.elasticsearch_url:
        services.append(opensearch.service(settings))
    return services
