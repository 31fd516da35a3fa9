"""Real Italian text labelled by machine, then corrected by a reader: the `reviewed-*.jsonl` training documents.

    python -m streams.nlp.review prelabel OUT.jsonl            # machine labels as inline marks, for a reader
    python -m streams.nlp.review build IN.jsonl [IN.jsonl ...]  # corrected marks -> training/it/reviewed-real.jsonl

The readers of session 16 were AI agents (the session's helpers) working to the guidelines, one file each, not
newsroom annotators; a person can take their place with the same two commands.

Why a reader: silver labels (streams/nlp/silver.py) teach the model its own errors back, and the strict filter
that avoids that keeps only the easy documents; neither moved real-text F1. Correcting the machine's marks is
cheap (most documents need no edit or one) and gives real text, written by others, with labels to the project's
guidelines (tests/fixtures/ner/README.md). The marked format is the training corpus's (`[[surface|TYPE]]`,
streams/nlp/train.py), so a reader edits plain text; `build` refuses a file whose text a reader changed.

Sources (train and dev files only; sentences of the real-text test sets are dropped, see silver.held_out_sentences):
UD Italian MarkIT (essays, CC BY 4.0), ParlaMint (parliamentary debates, CC BY-SA 4.0) and TWITTIRÒ (tweets,
CC BY-SA 4.0), and the Italian train split of SIB-200 (FLORES-200 sentences from Wikinews, Wikivoyage and
Wikibooks, professionally translated; CC BY-SA 4.0). Share-alike allows commercial use; docs/licences.md says what
it asks of the model trained on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from streams.nlp import silver
from streams.nlp.evaluate import GoldDocument, Span, problems
from streams.nlp.sib200 import read_tsv

SOURCES = (
    "ud-italian-text/it_markit-ud-train.conllu", "ud-italian-text/it_markit-ud-dev.conllu",
    "ud-italian-text/it_parlamint-ud-train.conllu",
    "ud-italian-text/it_twittiro-ud-train.conllu", "ud-italian-text/it_twittiro-ud-dev.conllu",
)
SIB200 = silver.HERE / "training" / "topics" / "sib200" / "ita_Latn" / "train.tsv"  # FLORES-200 news/wiki sentences
TARGET = silver.HERE / "training" / "it" / "reviewed-real.jsonl"


def sib200_documents(path: Path = SIB200, banned: set[str] | None = None) -> list[tuple[str, str]]:
    """SIB-200's Italian train split (already shipped for topics, CC BY-SA 4.0): FLORES-200 sentences, translated
    from English Wikinews, Wikivoyage and Wikibooks. Consecutive ids mostly come from one article (a run can cross
    into the next one, which NER training does not mind), so a run of consecutive ids (at most
    SENTENCES_PER_DOCUMENT) is a document. Its dev and test splits stay topic test data."""
    banned = silver.held_out_sentences() if banned is None else banned
    rows = sorted((int(i), text) for i, _, text in read_tsv(path))
    documents: list[tuple[str, str]] = []
    run: list[tuple[int, str]] = []
    for index, text in [*rows, (-2, "")]:
        if run and (index != run[-1][0] + 1 or len(run) == silver.SENTENCES_PER_DOCUMENT):
            documents.append((f"reviewed-sib200-train-{run[0][0]}", " ".join(t for _, t in run)))
            run = []
        if index >= 0 and silver.normalised(text) not in banned:
            run.append((index, text))
    return documents


def raw_documents(corpora: Path = silver.CORPORA) -> list[tuple[str, str]]:
    """(id, text) of every document a reader reviews: the UD treebanks' and SIB-200's."""
    banned = silver.held_out_sentences(corpora)
    treebanks = silver.raw_documents(corpora, banned, sources=SOURCES, prefix="reviewed")
    return [*treebanks, *sib200_documents(banned=banned)]


def marked(text: str, spans: Sequence[Span], offset: int = 2) -> str:
    """Spans (offsets into title + "\\n\\n" + text, titles empty) as inline `[[surface|TYPE]]` marks."""
    out, last = "", 0
    for span in sorted(spans, key=lambda s: s.start):
        if any(ch in span.text for ch in "[]|"):  # a mark cannot hold these (a URL's bracket in a tweet): left out
            continue
        start, end = span.start - offset, span.end - offset
        out += f"{text[last:start]}[[{text[start:end]}|{span.type}]]"
        last = end
    return out + text[last:]


def prelabel(target: Path, corpora: Path = silver.CORPORA) -> Counter[str]:
    """The machine's labels (silver.label: the annotator corrected by gazetteers, nothing filtered), marked."""
    counts: Counter[str] = Counter()
    documents = silver.label(raw_documents(corpora), counts)
    target.write_text("".join(json.dumps({"id": d.id, "text": marked(d.text, d.entities)}, ensure_ascii=False)
                              + "\n" for d in documents), encoding="utf-8")
    return counts


def from_marked(lines: Sequence[str], expected: dict[str, str] | None = None) -> list[GoldDocument]:
    """Reviewed marked lines -> gold documents (split "dev": training material). With `expected` (id -> plain
    text, from prelabel), a document whose text differs, or an id not prelabelled, is an error."""
    from streams.nlp.train import unmark

    documents = []
    for line in lines:
        if not line.strip():
            continue
        raw = json.loads(line)
        text, spans = unmark(raw["text"], 2)
        if expected is not None and expected.get(raw["id"]) != text:
            raise ValueError(f"{raw['id']}: not a prelabelled document, or its text was changed by the reader")
        documents.append(GoldDocument(raw["id"], "it", "dev", "", text, tuple(spans)))
    return documents


def build(sources: Sequence[Path], target: Path = TARGET, corpora: Path = silver.CORPORA) -> Counter[str]:
    """The reviewed files -> the training file; each document's text is checked against the treebanks'."""
    expected = dict(raw_documents(corpora))
    documents = sorted((d for path in sources for d in from_marked(path.read_text("utf-8").splitlines(), expected)),
                       key=lambda d: d.id)
    bad = problems(documents)  # across all the files: spans, overlaps, an id given twice
    if bad:
        raise ValueError("reviewed documents: " + "; ".join(bad[:5]))
    target.write_text("".join(silver.to_line(d) + "\n" for d in documents), encoding="utf-8")
    counts = Counter(f"{d.id.split('-')[1]} documents" for d in documents)
    counts.update(f"{span.type} mentions" for d in documents for span in d.entities)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.nlp.review", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prelabel", help="write the machine's marks for a reader").add_argument("out", type=Path)
    build_parser = commands.add_parser("build", help="corrected marked files -> the training file")
    build_parser.add_argument("files", type=Path, nargs="+")
    build_parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    counts = prelabel(args.out) if args.command == "prelabel" else build(args.files, args.out)
    for key, value in sorted(counts.items()):
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
