"""Entity annotation quality against a gold set (tests/fixtures/ner/*.jsonl). Pure: no Faust, Kafka or Elasticsearch.

    python -m streams.nlp.evaluate tests/fixtures/ner/it.jsonl [--split heldout] [--errors] [--markdown]

Gold file: one JSON document a line, {"id", "language", "split", "title", "text", "entities": [{"text", "type",
"start", "end"}]}, offsets into title + "\\n\\n" + text (Document.body, what NER reads); guidelines in
tests/fixtures/ner/README.md.

Two measures, each per type (PER, ORG, LOC, MISC) and micro-averaged:

- span: exact match of (type, start, end) of every mention. The model's raw mentions (Annotator.recognise) are
  mapped to the common labels (normalise.LABELS) and, like gold spans, trimmed the way normalise.clean_surface
  trims a surface (leading "the", possessive, edge punctuation), so a model's "the European Commission" counts as
  "European Commission", which is what the pipeline reports.
- doc: the issue's document-level bag: per document the *set* of (type, fold(clean_surface(surface))) over all
  mentions, gold against predicted; true/false positives and misses summed over documents. It forgives offsets
  and repetitions but not a type or a surface that folds to something else ("Comune" vs "Comune di Milano").

The headline is the micro average over PER/ORG/LOC (what the issue measures on real news); "all" adds MISC.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.nlp.annotate import MAX_CHARS, Annotator, Document, Recognised
from streams.nlp.normalise import _POSSESSIVE, LABELS, clean_surface, fold

TYPES = ("PER", "ORG", "LOC", "MISC")
HEADLINE = ("PER", "ORG", "LOC")
SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class GoldDocument:
    id: str
    language: str
    split: str
    title: str
    text: str
    entities: tuple[Span, ...]

    @property
    def body(self) -> str:
        return f"{self.title}\n\n{self.text}"

    def document(self) -> Document:
        """What the annotator gets; the gold language is passed as the feed's declared language (a hint)."""
        return Document(self.id, self.title, self.text, self.language or None)


def parse(line: str) -> GoldDocument:
    raw = json.loads(line)
    return GoldDocument(
        id=raw["id"], language=raw.get("language", ""), split=raw.get("split", "dev"),
        title=raw["title"], text=raw["text"],
        entities=tuple(Span(e["type"], e["start"], e["end"], e["text"]) for e in raw["entities"]))


def load(path: str | Path, split: str | None = None) -> list[GoldDocument]:
    """The documents of a gold file, optionally only those of one split ('dev' or 'heldout')."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    documents = [parse(line) for line in lines if line.strip()]
    return [d for d in documents if split in (None, "all", d.split)]


def problems(documents: Iterable[GoldDocument]) -> list[str]:
    """What is wrong with a gold set: offsets that do not point at the span text, unknown types or splits,
    overlapping (nested) spans, spans with edge whitespace, duplicate ids. Empty when well-formed."""
    found, seen = [], set()
    for doc in documents:
        if doc.id in seen:
            found.append(f"{doc.id}: duplicate id")
        seen.add(doc.id)
        if doc.split not in SPLITS:
            found.append(f"{doc.id}: split {doc.split!r} is not one of {SPLITS}")
        if len(doc.body) > MAX_CHARS:
            found.append(f"{doc.id}: longer than what the annotator reads (annotate.MAX_CHARS)")
        previous_end = -1
        for span in sorted(doc.entities, key=lambda s: (s.start, s.end)):
            where = f"{doc.id} [{span.start}:{span.end}] {span.text!r}"
            if span.type not in TYPES:
                found.append(f"{where}: type {span.type!r} is not one of {TYPES}")
            if not 0 <= span.start < span.end <= len(doc.body) or doc.body[span.start:span.end] != span.text:
                found.append(f"{where}: offsets do not match the text ({doc.body[span.start:span.end]!r})")
            elif span.text != span.text.strip():
                found.append(f"{where}: span starts or ends with whitespace")
            if span.start < previous_end:
                found.append(f"{where}: overlaps the previous span (no nesting: annotate the outermost)")
            previous_end = max(previous_end, span.end)
    return found


# --- scoring -------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Scores:
    by_type: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})

    def micro(self, types: Sequence[str] = HEADLINE) -> Counts:
        total = Counts()
        for t in types:
            total.add(self.by_type[t])
        return total

    def as_dict(self) -> dict[str, dict[str, float | int]]:
        return {**{t: c.as_dict() for t, c in self.by_type.items()},
                "micro": self.micro().as_dict(), "micro_all": self.micro(TYPES).as_dict()}


@dataclass(frozen=True)
class Prediction:
    language: str  # as identified by the pipeline
    model: str
    spans: tuple[Span, ...]


@dataclass
class DocumentErrors:
    id: str
    missed: list[tuple[str, str]]  # doc-level (type, folded surface) in gold, not predicted
    spurious: list[tuple[str, str]]  # predicted, not in gold


@dataclass
class Result:
    documents: int = 0
    span: Scores = field(default_factory=Scores)
    doc: Scores = field(default_factory=Scores)
    span_any_type: Counts = field(default_factory=Counts)  # spans whose offsets match, whatever the types
    languages: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    errors: list[DocumentErrors] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"documents": self.documents, "languages": dict(self.languages), "models": dict(self.models),
                "span": self.span.as_dict(), "doc": self.doc.as_dict(),
                "span_any_type": self.span_any_type.as_dict()}


def _junk(char: str) -> bool:  # what normalise._EDGE_JUNK ([\W_]) strips
    return not char.isalnum()


def _trim(text: str) -> tuple[int, int]:
    """(start, end) of what normalise.clean_surface keeps of `text`, as offsets into `text`."""
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    possessive = _POSSESSIVE.search(text[start:end])
    if possessive:
        end = start + possessive.start()
    if text[start:start + 4].lower() == "the " and end - start > 4:
        start += 4
    while start < end and _junk(text[start]):
        start += 1
    while end > start and _junk(text[end - 1]):
        end -= 1
    return start, end


def _trimmed(span: Span) -> Span | None:
    start, end = _trim(span.text)
    text = span.text[start:end]
    if len(text) < 2 or not any(c.isalpha() for c in text):  # what normalise() drops
        return None
    return Span(span.type, span.start + start, span.start + end, text)


def prediction(found: Recognised) -> Prediction:
    """A model's raw mentions as spans in the common vocabulary (labels the project drops are dropped)."""
    spans = []
    for mention in found.mentions:
        etype = LABELS.get(mention.label)
        if etype is not None:
            span = _trimmed(Span(etype, mention.start, mention.start + len(mention.text), mention.text))
            if span is not None:
                spans.append(span)
    return Prediction(found.language, found.model, tuple(spans))


def predict(documents: Sequence[GoldDocument], annotator: Annotator) -> list[Prediction]:
    """Run the annotator's language identification and NER (no topics, no normalisation) over the documents."""
    return [prediction(found) for found in annotator.recognise([d.document() for d in documents])]


def _bag(spans: Iterable[Span]) -> set[tuple[str, str]]:
    return {(s.type, fold(clean_surface(s.text))) for s in spans if clean_surface(s.text)}


def _compare(gold: set, predicted: set) -> Counts:
    return Counts(tp=len(gold & predicted), fp=len(predicted - gold), fn=len(gold - predicted))


def score(documents: Sequence[GoldDocument], predictions: Sequence[Prediction]) -> Result:
    result = Result()
    for doc, predicted in zip(documents, predictions, strict=True):
        result.documents += 1
        result.languages[predicted.language] += 1
        result.models[predicted.model] += 1
        gold_spans = [s for s in (_trimmed(g) for g in doc.entities) if s is not None]

        gold = {(s.type, s.start, s.end) for s in gold_spans}
        pred = {(s.type, s.start, s.end) for s in predicted.spans}
        gold_bag, pred_bag = _bag(gold_spans), _bag(predicted.spans)
        for t in TYPES:
            result.span.by_type[t].add(_compare({x for x in gold if x[0] == t}, {x for x in pred if x[0] == t}))
            result.doc.by_type[t].add(_compare({x for x in gold_bag if x[0] == t}, {x for x in pred_bag if x[0] == t}))
        result.span_any_type.add(_compare({x[1:] for x in gold}, {x[1:] for x in pred}))
        result.errors.append(DocumentErrors(doc.id, sorted(gold_bag - pred_bag), sorted(pred_bag - gold_bag)))
    return result


def evaluate(documents: Sequence[GoldDocument], annotator: Annotator) -> Result:
    return score(documents, predict(documents, annotator))


# --- reporting -----------------------------------------------------------------------------------------------


def _rows(result: Result) -> list[tuple[str, Counts, Counts]]:
    rows = [(t, result.span.by_type[t], result.doc.by_type[t]) for t in TYPES]
    rows.append(("micro PER/ORG/LOC", result.span.micro(), result.doc.micro()))
    rows.append(("micro all", result.span.micro(TYPES), result.doc.micro(TYPES)))
    return rows


def format_table(result: Result) -> str:
    head = (f"{'type':<18} | {'span P':>6} {'R':>5} {'F1':>5} {'gold':>5} {'pred':>5} | "
            f"{'doc P':>6} {'R':>5} {'F1':>5} {'gold':>5} {'pred':>5}")
    lines = [head, "-" * len(head)]
    for name, span, doc in _rows(result):
        lines.append(f"{name:<18} | {span.precision:6.2f} {span.recall:5.2f} {span.f1:5.2f} {span.gold:5d} "
                     f"{span.predicted:5d} | {doc.precision:6.2f} {doc.recall:5.2f} {doc.f1:5.2f} {doc.gold:5d} "
                     f"{doc.predicted:5d}")
    return "\n".join(lines)


def format_markdown(result: Result) -> str:
    lines = ["| type | span P | span R | span F1 | doc P | doc R | doc F1 | gold spans / doc items |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, span, doc in _rows(result):
        bold = "**" if name.startswith("micro PER") else ""
        lines.append(f"| {bold}{name}{bold} | {span.precision:.2f} | {span.recall:.2f} | {span.f1:.2f} | "
                     f"{doc.precision:.2f} | {doc.recall:.2f} | {bold}{doc.f1:.2f}{bold} | {span.gold} / {doc.gold} |")
    return "\n".join(lines)


def _summary(result: Result) -> str:
    languages = ", ".join(f"{k} {v}" for k, v in result.languages.most_common())
    models = ", ".join(f"{k} {v}" for k, v in result.models.most_common())
    any_type = result.span_any_type
    return (f"documents {result.documents}; identified as: {languages}; models: {models}\n"
            f"span offsets right whatever the type: P {any_type.precision:.2f} R {any_type.recall:.2f} "
            f"F1 {any_type.f1:.2f}")


def format_errors(result: Result) -> str:
    lines = []
    for errors in result.errors:
        if errors.missed or errors.spurious:
            missed = "; ".join(f"{t} {s}" for t, s in errors.missed) or "-"
            spurious = "; ".join(f"{t} {s}" for t, s in errors.spurious) or "-"
            lines.append(f"{errors.id}\n  missed:   {missed}\n  spurious: {spurious}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.nlp.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="gold JSON-lines files (tests/fixtures/ner/*.jsonl)")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--models", help="JSON language -> spaCy pipeline; default: NEWSDESK_NLP_MODELS or the "
                                         "built-in defaults")
    parser.add_argument("--errors", action="store_true", help="list each document's missed and spurious entities")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    args = parser.parse_args(argv)

    if args.models:
        specs = json.loads(args.models)
    else:
        from newsdesk.settings import Settings  # the CLI honours the operator's configuration; the module does not

        specs = Settings().nlp_models
    annotator = Annotator(specs)
    for path in args.files:
        documents = load(path, args.split)
        bad = problems(documents)
        if bad:
            print(f"{path}: not a valid gold set:\n  " + "\n  ".join(bad), file=sys.stderr)
            return 2
        result = evaluate(documents, annotator)
        if args.json:
            print(json.dumps({"file": str(path), "split": args.split, **result.as_dict()}))
            continue
        print(f"\n{path}  split={args.split}")
        print(_summary(result))
        print(format_markdown(result) if args.markdown else format_table(result))
        if args.errors:
            print(format_errors(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
