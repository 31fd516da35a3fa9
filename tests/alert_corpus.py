"""A deterministic corpus of annotated articles in several languages, and queries over it, for the alert tests
(percolator == search) and bench/alerts_matching.py. Pure: builds documents as the sink indexes them."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.elasticsearch.document import to_document
from streams.records import AnnotatedArticle, Annotation, Article, Entity, EntityType, Topic

# Per language: words in several inflected forms, so stemming decides some matches.
WORDS: dict[str, list[str]] = {
    "it": ("governo governi parlamento cooperazione cooperazioni militare militari economia mercato mercati "
           "inflazione banca banche elezione elezioni sindaco sindaci guerra pace accordo accordi vertice "
           "energia clima ospedale tribunale polizia calcio partita").split(),
    "en": ("government governments parliament cooperation military economy market markets inflation bank banks "
           "election elections mayor mayors war peace agreement agreements summit energy climate hospital court "
           "police football match matches").split(),
    "fr": ("gouvernement gouvernements parlement coopération militaire militaires économie marché marchés "
           "inflation banque banques élection élections maire maires guerre paix accord accords sommet énergie "
           "climat hôpital tribunal police football").split(),
    "de": ("Regierung Regierungen Parlament Zusammenarbeit Militär Wirtschaft Markt Märkte Inflation Bank Banken "
           "Wahl Wahlen Bürgermeister Krieg Frieden Abkommen Gipfel Energie Klima Krankenhaus Gericht Polizei "
           "Fußball").split(),
    "es": ("gobierno gobiernos parlamento cooperación militar militares economía mercado mercados inflación banco "
           "bancos elección elecciones alcalde guerra paz acuerdo acuerdos cumbre energía clima hospital tribunal "
           "policía fútbol").split(),
    "pl": ("rząd parlament współpraca wojsko gospodarka rynek inflacja bank wybory burmistrz wojna pokój "
           "porozumienie szczyt energia klimat szpital sąd policja").split(),  # no analyzer: i18n.other
}
PEOPLE = ["Vladimir Putin", "Xi Jinping", "Giorgia Meloni", "Emmanuel Macron", "Olaf Scholz", "Joe Biden",
          "Pedro Sánchez", "Ursula von der Leyen"]
ORGS = ["NATO", "Tass", "European Commission", "Banca d'Italia", "Reuters", "UEFA"]
PLACES = ["Roma", "Mosca", "Pechino", "Berlin", "Paris", "London", "Madrid", "Ucraina", "Kyiv"]
TOPICS = [("politics", "medtop:11000000"), ("economy, business and finance", "medtop:04000000"),
          ("sport", "medtop:15000000"), ("conflict, war and peace", "medtop:16000000"),
          ("health", "medtop:07000000")]
SOURCES = [("https://news.example.it/rss", "Notizie"), ("https://daily.example.com/feed", "Daily"),
           ("https://journal.example.fr/rss", "Le Journal"), ("https://zeitung.example.de/rss", "Zeitung"),
           ("https://diario.example.es/rss", "Diario")]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def entity(name: str, etype: EntityType, mentions: int = 1) -> Entity:
    return Entity(key=f"{etype}:{name.lower()}", name=name, type=etype, mentions=mentions, first_offset=0)


def make_items(n: int, seed: int = 17, text_words: tuple[int, int] = (20, 80)) -> list[AnnotatedArticle]:
    rng = random.Random(seed)
    items = []
    languages = list(WORDS)
    for i in range(n):
        language = languages[i % len(languages)]
        words = WORDS[language]
        title = " ".join(rng.sample(words, 5))
        text = " ".join(rng.choice(words) for _ in range(rng.randint(*text_words)))
        people = rng.sample(PEOPLE, rng.randint(0, 2))
        if people:  # a person's name in the text too, sometimes
            text += " " + people[0]
        feed_url, feed_title = SOURCES[rng.randrange(len(SOURCES))]
        published = BASE + timedelta(minutes=i)
        article = Article(id=f"alert-{i:05d}", url=f"{feed_url.rsplit('/', 1)[0]}/a/{i}", title=title,
                          summary=text[:120], text=text, fetched_at=published, published_at=published,
                          feed_url=feed_url, feed_title=feed_title, content_hash=str(i), version=1 + i % 3)
        entities = [entity(p, "PER", 2) for p in people]
        entities += [entity(o, "ORG") for o in rng.sample(ORGS, rng.randint(0, 2))]
        entities += [entity(p, "LOC") for p in rng.sample(PLACES, rng.randint(0, 2))]
        topics = [Topic(name=name, code=code, score=0.7) for name, code in rng.sample(TOPICS, rng.randint(0, 2))]
        annotation = Annotation(id=article.id, language=language if language != "pl" else "pl",
                                language_score=0.99, entities=entities, topics=topics)
        items.append(AnnotatedArticle(article=article, annotation=annotation, annotated_at=published))
    return items


def make_documents(n: int, seed: int = 17, text_words: tuple[int, int] = (20, 80)) -> list[dict[str, Any]]:
    return [to_document(item, indexed_at=item.annotated_at) for item in make_items(n, seed, text_words)]


# Varied queries: terms, stems, phrases, AND/OR/NOT, parentheses, typed entities, topic, lang, source.
QUERIES = [
    "governo",
    "governi",  # Italian stemming: governo
    "elections",
    "election",  # English stemming
    "élection",
    "Wahlen",
    "elecciones",
    "inflazione mercati",
    "inflation OR inflazione",
    "cooperazione militare",
    '"cooperazione militare"',
    '"peace agreement"',
    "guerra AND pace",
    "guerra -pace",
    "war NOT peace",
    "(bank OR banca OR banque) AND inflation",
    "(elezioni OR elections) lang:it",
    "lang:en",
    "lang:fr AND gouvernement",
    "lang:pl",
    "rząd",
    "person:\"Vladimir Putin\"",
    "person:\"Vladimir Putin\" AND person:\"Xi Jinping\"",
    "person:\"Joe Biden\" OR person:\"Emmanuel Macron\"",
    "entity:NATO",
    "org:NATO AND NOT place:Mosca",
    "org:\"European Commission\"",
    "place:Pechino OR place:Berlin",
    "entity:\"Vladimir Putin\" lang:it",
    "topic:sport",
    "topic:\"conflict, war and peace\" AND lang:it",
    "topic:politics AND NOT topic:health",
    "source:\"Le Journal\"",
    "source:daily.example.com AND (market OR markets)",
    "Putin",
    "putin OR meloni",
    "person:Macron",  # a surname alone is not the key: matches nothing, in both
    "(topic:sport OR topic:health) AND NOT lang:en",
    "calcio OR football OR fútbol OR Fußball",
    "\"Xi Jinping\"",
    "-governo lang:it",
    "energia clima",
]


# -- real text (bench/alerts_matching.py --corpus real) ----------------------------------------------------------
# Articles made of real sentences: tests/fixtures/ner-real (Europarl and PUD, English and Italian; the licences
# are in that folder), with their gold entities (PER/ORG/LOC/MISC) as the annotation, so the vocabulary, the
# names and their frequencies are those of real text, not of a word list.

REAL_TEXT = Path(__file__).resolve().parent / "fixtures" / "ner-real"
# A wider topic list than TOPICS (IPTC media topics, top level and a few below), drawn long-tailed per article.
REAL_TOPICS = ["politics", "economy, business and finance", "conflict, war and peace", "crime, law and justice",
               "society", "health", "environment", "science and technology", "sport", "arts, culture, "
               "entertainment and media", "education", "labour", "disaster, accident and emergency incident",
               "human interest", "lifestyle and leisure", "religion", "weather", "election", "government",
               "diplomacy", "international relations", "market and exchange", "energy and resource",
               "transport", "agriculture", "migration of people", "climate change", "economic policy",
               "judiciary", "police", "football", "tennis", "cinema", "music", "pollution", "employment",
               "healthcare policy", "communicable disease", "elections", "parliament"]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(«A-ZÀ-Ý])")


def real_sentences() -> dict[str, list[list[tuple[str, list[tuple[str, str]]]]]]:
    """Per language, per source document (file order): its sentences, each with the (type, surface) of the
    gold entities inside it."""
    out: dict[str, list[list[tuple[str, list[tuple[str, str]]]]]] = {}
    for path in sorted(REAL_TEXT.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            text = record["text"]
            shift = len(record.get("title") or "") + 2  # offsets are into title + "\n\n" + text
            sentences = []
            start = 0
            for match in [*_SENTENCE_END.finditer(text), None]:
                end = match.start() if match else len(text)
                names = [(e["type"], e["text"]) for e in record["entities"]
                         if start <= e["start"] - shift < end]
                if text[start:end].strip():
                    sentences.append((text[start:end].strip(), names))
                start = match.end() if match else end
            out.setdefault(record["language"], []).append(sentences)
    return out


def make_real_items(n: int, seed: int = 23, text_words: tuple[int, int] = (300, 600)) -> list[AnnotatedArticle]:
    """n articles of real sentences: each starts at a random source document of its language and runs on
    through the following ones until text_words; title: its first sentence (cut to 14 words); entities: the gold
    ones of its sentences (mentions counted), keys normalised as the annotator does; topics: one to three of
    REAL_TOPICS, long-tailed."""
    from connectors.elasticsearch.query_language import entity_name_key

    rng = random.Random(seed)
    pools = real_sentences()
    languages = sorted(pools)
    topic_weights = [1 / (rank + 1) for rank in range(len(REAL_TOPICS))]
    items = []
    for i in range(n):
        language = languages[i % len(languages)]
        documents = pools[language]
        at = rng.randrange(len(documents))
        goal = rng.randint(*text_words)
        sentences: list[tuple[str, list[tuple[str, str]]]] = []
        while sum(len(s.split()) for s, _ in sentences) < goal:
            sentences += documents[at % len(documents)]
            at += 1
        title = " ".join(sentences[0][0].split()[:14])
        text = " ".join(s for s, _ in sentences[1:])
        counts: dict[tuple[str, str], int] = {}
        for _, names in sentences:
            for etype, surface in names:
                key = entity_name_key(surface)
                if key:
                    counts[(etype, key)] = counts.get((etype, key), 0) + 1
        entities = []
        for (etype, key), mentions in counts.items():
            entities.append(Entity(key=f"{etype}:{key}", name=key, type=etype,  # type: ignore[arg-type]
                                   mentions=mentions, first_offset=0))
        picked = set(rng.choices(REAL_TOPICS, weights=topic_weights, k=rng.randint(1, 3)))
        topics = [Topic(name=name, code=f"medtop:{REAL_TOPICS.index(name):08d}", score=0.7) for name in picked]
        feed_url, feed_title = SOURCES[rng.randrange(len(SOURCES))]
        published = BASE + timedelta(minutes=i)
        article = Article(id=f"real-{i:05d}", url=f"{feed_url.rsplit('/', 1)[0]}/r/{i}", title=title,
                          summary=text[:200], text=text, fetched_at=published, published_at=published,
                          feed_url=feed_url, feed_title=feed_title, content_hash=f"r{i}", version=1)
        annotation = Annotation(id=article.id, language=language, language_score=0.99, entities=entities,
                                topics=topics)
        items.append(AnnotatedArticle(article=article, annotation=annotation, annotated_at=published))
    return items


def make_real_documents(n: int, seed: int = 23, text_words: tuple[int, int] = (300, 600)) -> list[dict[str, Any]]:
    return [to_document(item, indexed_at=item.annotated_at) for item in make_real_items(n, seed, text_words)]
