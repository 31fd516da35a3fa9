"""The contracts between stages. Each stage reads one of these from a topic and writes another.

Plain pydantic models (no Faust import) so that the CLI, the connectors and worker processes share them.
They travel as UTF-8 JSON; the JSON shapes of `Article` (`newsdesk parse-feed`) and `Annotation`
(`newsdesk annotate`) are public and documented in the README.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EntityType = Literal["PER", "ORG", "LOC", "MISC"]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class Enclosure(Record):
    """A media file attached to an article (RSS <enclosure>, Atom rel="enclosure", media:content, JSON Feed
    attachment)."""

    url: str
    type: str | None = Field(None, description="MIME type as the feed declares it")
    length: int | None = Field(None, description="Size in bytes as the feed declares it")


# Which text `Article.text` holds: the entry's full content, its summary, nothing but a title, or the text
# extracted from the article page (connectors/rss/fulltext.py). A plain string so a value added later never
# makes an older consumer reject the message.
TEXT_SOURCES = ("content", "summary", "title", "fulltext")
DateStatus = Literal["ok", "missing", "future"]


class Article(Record):
    """One news item as the connector produces it to `articles.raw`."""

    id: str = Field(description="Stable id: hash of the canonical URL, else of the GUID")
    url: str | None = Field(None, description="Canonical URL (tracking parameters and fragment removed)")
    link: str | None = Field(None, description="The link exactly as the feed gave it")
    guid: str | None = None
    title: str = ""
    summary: str = ""
    text: str = Field("", description="Plain text of the fullest content the feed carries")
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    fetched_at: datetime
    feed_url: str
    feed_title: str = ""
    feed_language: str | None = None
    content_hash: str = Field(description="Hash of title+summary+text: changes when the article is edited")
    version: int = Field(0, description="Grows with each edit the connector sees (ms since epoch of the fetch "
                                        "that saw this content); the index keeps the highest version")
    content_html: str = Field("", description="The fullest content the feed carries as sanitised HTML (allow-list, "
                                              "relative URLs resolved); plain-text content becomes <p> paragraphs")
    enclosures: list[Enclosure] = Field(default_factory=list)
    text_source: str = Field("content", description="Where `text` came from: " + " | ".join(TEXT_SOURCES))
    date_status: DateStatus = Field("ok", description="'missing': the feed gave no date (published_at is None); "
                                                      "'future': the date was ahead of fetched_at, clamped to it")


class Entity(Record):
    key: str = Field(description="Stable key for aggregation and alerts, e.g. 'PER:vladimir putin'")
    name: str = Field(description="Canonical (longest) surface form in the article")
    type: EntityType
    mentions: int
    first_offset: int = Field(description="Character offset of the first mention in title + '\\n\\n' + text")


class Topic(Record):
    name: str = Field(description="IPTC Media Topics top-level subject label")
    code: str = Field(description="IPTC Media Topics code, e.g. medtop:11000000")
    score: float


class Annotation(Record):
    """What the annotation stage adds; `newsdesk annotate` prints one of these per input line."""

    id: str
    language: str = Field(description="ISO 639-1 code, or 'und' when undetermined")
    language_score: float
    entities: list[Entity] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    models: dict[str, str] = Field(default_factory=dict, description="Which model produced which part")


class AnnotatedArticle(Record):
    """An article with its annotation, as written to `articles.annotated` and indexed."""

    article: Article
    annotation: Annotation
    annotated_at: datetime


class DeadLetter(Record):
    """A message a stage could not process, with the reason, so nothing accepted disappears silently."""

    stage: str
    error: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    payload: str = Field(description="The original message value (UTF-8, invalid bytes replaced)")
    failed_at: datetime


# -- alerts ------------------------------------------------------------------------------------------------

ChannelKind = Literal["webhook", "email", "slack", "log"]


class Channel(Record):
    """Where a subscription's alerts go. `target`: the URL (webhook, slack), the address (email), or '' (log)."""

    kind: ChannelKind
    target: str = ""


class Subscription(Record):
    """A saved query that alerts its owner, kept in the compacted topic `newsdesk.subscriptions` (key: `key`).

    `secret` signs webhook bodies (HMAC-SHA256); it is never logged, listed or served after creation.
    """

    owner: str = "default"
    name: str
    query: str = Field(description="In newsdesk's query language (docs/query-language.md), the same as search")
    channels: list[Channel] = Field(default_factory=list)
    enabled: bool = True
    updates: bool = Field(False, description="Also alert when a new version of an article already alerted matches")
    secret: str = Field("", repr=False)
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.name}"


class Alert(Record):
    """One (subscription, article) match, produced to the `alerts` topic; delivered once per channel.

    `id` is stable for a (subscription, article[, version when the subscription asks for updates]) pair, so a
    re-delivered match is recognised and never sent twice.
    """

    id: str
    subscription: str = Field(description="Subscription key, owner/name")
    article_id: str
    article_version: int = 0
    title: str = ""
    url: str | None = None
    language: str = ""
    persons: list[str] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    matched_at: datetime
