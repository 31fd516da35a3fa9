"""Headline entity quality: the annotator on real text written by others (tests/fixtures/ner-real/).

    python -m streams.nlp.evaluate_real [--markdown] [--json] [--models JSON] [--dir tests/fixtures/ner-real]

Why a module of its own: the project's own gold sets (streams/nlp/evaluate.py on tests/fixtures/ner/) are written in
the style of the Italian training data and overstate quality by about 0.4; these sets (Europarl it/en, UNER English
PUD, Italian PUD with gold projected from the English and completed by readers) are what the headline figures in
docs/annotation-quality.md come from. The measure is evaluate.py's document-level bag (per document, the set of
(type, folded surface)), per type PER/ORG/LOC and micro-averaged over the three; MISC is scored by nobody's headline
(PUD has none).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.nlp.annotate import Annotator
from streams.nlp.evaluate import HEADLINE, Counts, Result, evaluate, load, problems

# (language, set name, file): the order of the headline table.
SETS: tuple[tuple[str, str, str], ...] = (
    ("it", "Europarl-IT", "europarl-it.jsonl"),
    ("it", "PUD-IT (projected + read)", "pud-it.jsonl"),
    ("en", "Europarl-EN", "europarl-en.jsonl"),
    ("en", "UNER PUD-EN", "pud-en.jsonl"),
)
DEFAULT_DIR = Path("tests/fixtures/ner-real")


@dataclass(frozen=True)
class SetResult:
    language: str
    name: str
    result: Result

    def cell(self, etype: str) -> Counts:
        """Document-level counts of one type, or of the PER/ORG/LOC micro average ('micro')."""
        return self.result.doc.micro() if etype == "micro" else self.result.doc.by_type[etype]


def run(annotator: Annotator, directory: Path = DEFAULT_DIR) -> list[SetResult]:
    results = []
    for language, name, file in SETS:
        documents = load(directory / file)
        bad = problems(documents)
        if bad:
            raise ValueError(f"{file}: not a valid gold set: {bad[:3]}")
        results.append(SetResult(language, name, evaluate(documents, annotator)))
    return results


def format_markdown(results: Sequence[SetResult]) -> str:
    """One row per set: P/R/F1 per type and micro PER/ORG/LOC (document-level bag)."""
    head = "| language | set | docs | " + " | ".join(f"{t} P / R / F1" for t in HEADLINE) + " | **micro F1** (P / R) |"
    lines = [head, "| --- | --- | ---: | " + " | ".join("---:" for _ in HEADLINE) + " | ---: |"]
    for r in results:
        cells = [f"{c.precision:.2f} / {c.recall:.2f} / {c.f1:.2f}" for c in (r.cell(t) for t in HEADLINE)]
        micro = r.cell("micro")
        lines.append(f"| {r.language} | {r.name} | {r.result.documents} | " + " | ".join(cells)
                     + f" | **{micro.f1:.2f}** ({micro.precision:.2f} / {micro.recall:.2f}) |")
    return "\n".join(lines)


def as_json(results: Sequence[SetResult]) -> str:
    return json.dumps([{"language": r.language, "set": r.name, "documents": r.result.documents,
                        **{t: r.cell(t).as_dict() for t in (*HEADLINE, "micro")}} for r in results])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.nlp.evaluate_real", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of the real-text gold sets")
    parser.add_argument("--models", help="JSON language -> spaCy pipeline; default: the configured models")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown headline table")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.models:
        specs = json.loads(args.models)
    else:
        from newsdesk.settings import Settings  # the CLI honours the operator's configuration; the module does not

        specs = Settings().nlp_models
    results = run(Annotator(specs), args.dir)
    if args.json:
        print(as_json(results))
    elif args.markdown:
        print(format_markdown(results))
    else:
        for r in results:
            cells = "  ".join(f"{t} {r.cell(t).precision:.2f}/{r.cell(t).recall:.2f}/{r.cell(t).f1:.2f}"
                              for t in (*HEADLINE, "micro"))
            print(f"{r.language}  {r.name:<20} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
