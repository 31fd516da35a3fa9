# syntax=docker/dockerfile:1
# newsdesk against real Kafka and Elasticsearch (see docker-compose.yml). The image holds only the runtime
# dependencies: no dev extras and no noida-db, so NEWSDESK_KAFKA_BOOTSTRAP and NEWSDESK_ELASTICSEARCH_URL must
# both be set when a container starts (otherwise newsdesk would try to start its embedded engine and fail).

# -- build: turn the project and every dependency into wheels ---------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
RUN pip wheel --wheel-dir /wheels .

# -- runtime ----------------------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSDESK_DATA_DIR=/var/lib/newsdesk

# Install from the wheels of the build stage only (bind mount: the wheels never land in an image layer).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels newsdesk

# Non-root user; the data dir (feed registry, Faust table state) is a volume owned by it.
RUN groupadd --system --gid 10001 newsdesk \
 && useradd --system --uid 10001 --gid newsdesk --create-home --home-dir /home/newsdesk newsdesk \
 && mkdir -p /var/lib/newsdesk \
 && chown newsdesk:newsdesk /var/lib/newsdesk
USER newsdesk
WORKDIR /var/lib/newsdesk
VOLUME ["/var/lib/newsdesk"]

# `newsdesk up` handles SIGTERM (the default stop signal) and shuts the Faust worker down cleanly.
ENTRYPOINT ["newsdesk"]
CMD ["up"]
