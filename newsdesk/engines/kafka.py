"""Apache Kafka 4 as a single KRaft node (broker and controller in one JVM), data under <data dir>/kafka.

The storage is formatted on first start with a random cluster id. Internal topics get one replica and few
partitions, and the log cleaner a small dedupe buffer (its default takes 128 MB of a heap capped at 512 MB).
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from newsdesk.engines.base import Service, jvm_options, port_open
from newsdesk.engines.maven import JAVA_DIR, EngineUnavailable, classpath, tool
from newsdesk.processes import Child
from newsdesk.settings import Settings

LOG_CONFIG = f"-Dlog4j2.configurationFile={JAVA_DIR / 'kafka-log4j2.properties'}"


def server_properties(data: Path, port: int, controller_port: int, retention_hours: float) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "4",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": str(max(1, int(retention_hours))),
        "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "message.max.bytes": str(4 * 1024 * 1024),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def cluster_id() -> str:
    """16 random bytes, URL-safe base64 without padding; never starting with '-' (read as an option)."""
    while True:
        candidate = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def prepare(settings: Settings, java: str, cp: str) -> Path:
    """Write the configuration (every start: ports may change) and format the storage on first start."""
    home = settings.data_dir / "kafka"
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    config.write_text(server_properties(data, settings.embedded_kafka_port, settings.embedded_kafka_controller_port,
                                        settings.topic_retention_hours))
    if not (data / "meta.properties").exists():
        done = subprocess.run([java, "-Xmx256m", "-cp", cp, LOG_CONFIG, "kafka.tools.StorageTool", "format",
                               f"--cluster-id={cluster_id()}", "-c", str(config)],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise EngineUnavailable(f"kafka: formatting {data} failed: {(done.stdout + done.stderr).strip()[-500:]}")
    return config


def service(settings: Settings) -> Service:
    java = tool("java", settings.java_home)
    cp = classpath("kafka.pom.xml", settings.engines_cache_dir, settings.maven_repo)
    config = prepare(settings, java, cp)
    logs = settings.data_dir / "logs"
    argv = [java, *jvm_options(settings.embedded_kafka_heap_mb), "-cp", cp,
            LOG_CONFIG, f"-Dkafka.logs.dir={logs}",
            "kafka.Kafka", str(config)]

    def ready() -> bool:
        if not port_open(settings.embedded_kafka_port):
            return False
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=3000,
                                 client_id="newsdesk-ready")
        try:
            return bool(admin.describe_cluster().get("brokers"))
        finally:
            admin.close()

    return Service("kafka", lambda: Child("kafka", argv, log_path=logs / "kafka.log"), ready,
                   address=settings.bootstrap, stop_timeout_s=60.0, start_timeout_s=settings.embedded_start_timeout_s)
