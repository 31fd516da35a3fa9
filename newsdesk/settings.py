"""The one settings object: `NEWSDESK_*` environment variables, optionally a TOML file (`NEWSDESK_CONFIG`)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

DEFAULT_MODELS = {
    "en": "en_core_web_sm",
    "it": "newsdesk:it_gazetteer",
    "*": "en_core_web_sm",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    # Where things live. External services are used when their address is set; otherwise embedded noida-db.
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("newsdesk")))
    kafka_bootstrap: str | None = None
    elasticsearch_url: str | None = None
    embedded_kafka_port: int = 19092
    embedded_elasticsearch_port: int = 19200
    embedded_start_timeout_s: float = 60.0
    embedded_stop_timeout_s: float = 120.0
    # noida answers an empty Fetch at once; a short client-side pause stops idle consumers spinning a core.
    empty_fetch_pause_ms: int = 50

    # Kafka topics.
    topic_prefix: str = ""
    topic_partitions: int = 4
    topic_replication: int = 1
    topic_retention_hours: float = 7 * 24
    embedded_topic_retention_hours: float = 48

    # Elasticsearch.
    index_alias: str = "articles"
    embedded_index_cap: int = 5000  # keep only the newest N articles in the embedded index
    sink_batch_size: int = 200
    sink_batch_within_s: float = 1.0
    sink_max_backoff_s: float = 30.0

    # Feed polling.
    poll_interval_s: float = 300.0
    registry_refresh_s: float = 10.0
    fetch_timeout_s: float = 20.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    samples_port: int = 18089  # `newsdesk up --samples` serves the bundled sample feeds here
    user_agent: str = "newsdesk/0.1 (+https://github.com/newsdesk/newsdesk)"

    # NLP.
    nlp_workers: int = Field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    nlp_batch_size: int = 32
    nlp_batch_within_s: float = 0.5
    nlp_models: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_MODELS))

    # Faust.
    app_id: str = "newsdesk"
    web_port: int = 6066
    web_enabled: bool = False
    log_level: str = "info"

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

    @property
    def embedded(self) -> bool:
        """True when newsdesk runs its own noida-db instead of connecting to clusters."""
        return not (self.kafka_bootstrap and self.elasticsearch_url)

    @cached_property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.embedded_kafka_port}"

    @cached_property
    def es_url(self) -> str:
        return self.elasticsearch_url or f"http://127.0.0.1:{self.embedded_elasticsearch_port}"

    @property
    def retention_hours(self) -> float:
        return self.embedded_topic_retention_hours if self.embedded else self.topic_retention_hours

    @property
    def index_cap(self) -> int | None:
        return self.embedded_index_cap if self.embedded else None

    @property
    def fetch_pause_s(self) -> float:
        return self.empty_fetch_pause_ms / 1000 if self.embedded else 0.0

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
    def registry_path(self) -> Path:
        return self.data_dir / "newsdesk.sqlite3"

    @property
    def noida_dir(self) -> Path:
        return self.data_dir / "noida"


def load() -> Settings:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
