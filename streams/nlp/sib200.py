"""SIB-200's train split as labelled examples for the topic head (streams/nlp/topics.py), and its IPTC mapping.

    .venv/bin/python streams/nlp/training/topics/build_sib200_train.py [--check]

Why: the head learnt from ~500 short examples the project wrote, and on real text written by others (SIB-200's
test split, tests/fixtures/topics-real/) it placed the right topic in its top two 0.79 of the time; the issue asks
0.85. SIB-200 (Adelani et al. 2023, CC BY-SA 4.0) is the only topic-labelled real text under a commercial-use
licence found here, and its *train* split (701 sentences of Wikinews, Wikijunior and Wikivoyage, professionally
translated; the dev and test splits stay test data) can teach the head what real writing on those subjects looks
like. Its six labels cover six of the 17 IPTC subjects, so topics.py weighs it per subject: a subject's examples
keep their share of the head's training whatever SIB adds, and SIB only reshapes what a subject looks like, not
how often the head picks it (without that, the other author's news articles lost 6 points at top-2).

The raw files are streams/nlp/training/topics/sib200/<lang>_Latn/train.tsv as published (NOTICE there); the
builder writes data/iptc_sib200_train.jsonl (geography, which IPTC has no subject for, left out).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

# SIB-200 label -> IPTC Media Topics top-level codes, primary first (names in data/iptc_topics.json). The primary is
# what the head trains on; tests/fixtures/topics-real/ scores top-1 against every listed code.
MAPPING: dict[str, list[str]] = {
    "science/technology": ["medtop:13000000"],  # science and technology
    "travel": ["medtop:10000000"],  # lifestyle and leisure (IPTC: leisure > travel and tourism)
    "politics": ["medtop:11000000", "medtop:16000000"],  # politics; also conflict, war and peace
    "sports": ["medtop:15000000"],  # sport
    "health": ["medtop:07000000"],  # health
    "entertainment": ["medtop:01000000", "medtop:10000000"],  # arts, culture, entertainment and media; also leisure
}
# No IPTC subject is "geography": the test sets score it apart, the head does not train on it.
GEOGRAPHY = {"geography": ["medtop:13000000", "medtop:06000000"]}  # science and technology; also environment

RAW = Path(__file__).resolve().parent / "training" / "topics" / "sib200"
LANGUAGES = {"en": "eng_Latn", "it": "ita_Latn", "fr": "fra_Latn"}
OUTPUT = Path(__file__).resolve().parent / "data" / "iptc_sib200_train.jsonl"


def read_tsv(path: Path) -> list[tuple[str, str, str]]:
    """(index_id, category, text) rows of a SIB-200 file (tab-separated, CSV-style quoting, a header row)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if rows[0] != ["index_id", "category", "text"]:
        raise ValueError(f"{path}: unexpected header {rows[0]}")
    for row in rows[1:]:
        if len(row) != 3 or not row[0].isdigit() or not row[2].strip():
            raise ValueError(f"{path}: bad row {row}")
    return [(row[0], row[1], row[2]) for row in rows[1:]]


def examples() -> list[dict[str, str]]:
    """The train sentences of every language, in file order, with their primary IPTC code."""
    out = []
    for language, folder in LANGUAGES.items():
        for index_id, category, text in read_tsv(RAW / folder / "train.tsv"):
            if category in GEOGRAPHY:
                continue
            if category not in MAPPING:
                raise ValueError(f"{folder}/train.tsv: unknown SIB label {category!r}")
            out.append({"id": f"sib200-{language}-train-{index_id}", "language": language,
                        "topic": MAPPING[category][0], "text": " ".join(text.split())})
    return out


def render(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped file differs from a rebuild")
    args = parser.parse_args(argv)
    text = render(examples())
    if args.check:
        fresh = OUTPUT.exists() and OUTPUT.read_text("utf-8") == text
        print("up to date" if fresh else f"stale: {OUTPUT.name}")
        return 0 if fresh else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"{OUTPUT.name}: {text.count(chr(10))} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
