"""Resolve an engine's jars with Maven, once: the classpath is cached per pom content, so a run needs no network.

The poms beside this file (java/) pin every version. `mvn dependency:build-classpath` fetches what is missing
into the Maven cache (~/.m2, or NEWSDESK_MAVEN_REPO) and prints the classpath, which is kept in newsdesk's cache
directory under the pom's hash: a changed pom resolves again, an unchanged one never calls Maven.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
JAVA_DIR = Path(__file__).resolve().parent / "java"
RESOLVE_TIMEOUT_S = 1200.0  # a first resolution downloads ~150 MB of jars


class EngineUnavailable(RuntimeError):
    """The embedded engines cannot run here; the message says what to install and what else to use."""


ALTERNATIVES = ("or use existing clusters: set NEWSDESK_KAFKA_BOOTSTRAP and NEWSDESK_ELASTICSEARCH_URL "
                "(`docker compose up` in the repository runs Kafka, Elasticsearch and Kibana)")


def tool(name: str, java_home: Path | None = None) -> str:
    """The path of `java` or `mvn`, or an error naming what to install."""
    if name == "java" and java_home and (java_home / "bin" / "java").exists():
        return str(java_home / "bin" / "java")
    found = shutil.which(name)
    if not found:
        package = "openjdk-17-jre-headless (Java 17 or newer)" if name == "java" else "maven (3.8 or newer)"
        raise EngineUnavailable(f"`newsdesk up` runs Apache Kafka and OpenSearch from Maven Central and needs `{name}`,"
                                f" which is not on PATH: install {package}, e.g. `apt-get install "
                                f"{package.split()[0]}`; {ALTERNATIVES}")
    return found


def classpath(pom_name: str, cache_dir: Path, maven_repo: Path | None = None) -> str:
    pom = JAVA_DIR / pom_name
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    cached = cache_dir / f"{pom.stem}-{digest}.classpath"
    if cached.exists():
        entries = cached.read_text().strip()
        if entries and all(Path(jar).exists() for jar in entries.split(os.pathsep)):
            return entries
    cache_dir.mkdir(parents=True, exist_ok=True)
    argv = [tool("mvn"), "-q", "-B", "-f", str(pom), "dependency:build-classpath",
            f"-Dmdep.outputFile={cached}"]
    if maven_repo:
        argv.append(f"-Dmaven.repo.local={maven_repo}")
    log.info("resolving %s with Maven (once; cached in %s)", pom.name, cache_dir)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EngineUnavailable(f"Maven did not resolve {pom.name} within {RESOLVE_TIMEOUT_S:.0f}s; "
                                f"{ALTERNATIVES}") from exc
    if done.returncode != 0 or not cached.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise EngineUnavailable(f"Maven could not resolve {pom.name} (exit {done.returncode}):\n{tail}\n"
                                f"Is Maven Central reachable? {ALTERNATIVES}")
    return cached.read_text().strip()
