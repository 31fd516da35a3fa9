"""What newsdesk's annotation costs beyond spaCy's NER, part by part, in one process.

    .venv/bin/python bench/annotation_parts.py [--language it] [--articles 320] [--chunk 32]

The issue's throughput target compares the annotation stage with bare `nlp.pipe`; whatever the Annotator does
besides NER (language id, rules, precision filters and name lists, propagation, normalising, topics, the pool's
pickling) is CPU that bare NER does not spend. This script measures each part on the same synthetic articles as
bench/pipeline_throughput.py, as process CPU time, alternating the parts chunk by chunk (this VM's speed drifts by
more than 10% within minutes; alternating small chunks cancels most of it), and prints each as a share of bare
`nlp.pipe` on the same chunks. One process, one BLAS thread (as in a pool worker). Results belong in
docs/benchmarks.md.

Three bare `nlp.pipe` rows, each on its own copy of the model (a tokenizer's cache is per copy): without a memory
zone (what bench/pipeline_throughput.py compares with: its cache fills as it reads), inside a zone with the
tokenizer untaught (a zone switches the cache off), and inside a zone with the tokenizer taught the frequent
chunks (streams/nlp/tokenizer_cache.py, as the Annotator does). The shares are of the first.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_throughput import make_articles  # noqa: E402
from spacy.attrs import IDX, LENGTH  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from newsdesk.settings import DEFAULT_MODELS  # noqa: E402
from streams.nlp import language as langid  # noqa: E402
from streams.nlp import models, rules, topics  # noqa: E402
from streams.nlp.annotate import LANGUAGE_MODEL, Annotator, Document, filters  # noqa: E402
from streams.nlp.normalise import Mention, normalise  # noqa: E402
from streams.nlp.propagate import propagate, tidy  # noqa: E402
from streams.nlp.tokenizer_cache import CHECKPOINTS  # noqa: E402
from streams.records import Annotation  # noqa: E402

BASELINE = "bare nlp.pipe, no zone (baseline)"
BARE = (BASELINE, "nlp.pipe in a zone, untaught", "nlp.pipe in a zone, taught")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--language", default="en", choices=["en", "it"])
    parser.add_argument("--articles", type=int, default=320)
    parser.add_argument("--chunk", type=int, default=32, help="documents per chunk (a pool worker's share of a batch)")
    args = parser.parse_args()
    threadpool_limits(limits=1)

    specs = dict(DEFAULT_MODELS)
    spec = models.spec_for(args.language, specs)
    nlp = models.load(spec)  # the Annotator's copy: its tokenizer gets taught
    plain = models.load.__wrapped__(spec)  # independent copies, so that one row's cache does not serve another's
    untaught = models.load.__wrapped__(spec)
    documents = [Document(a.id, a.title, a.text, a.feed_language)
                 for a in make_articles(args.articles, 500, seed=7, language=args.language)]
    whole = Annotator(specs)
    # Load everything outside the clock, and read as many other articles as a worker reads before it first
    # teaches its tokenizer (a running worker's steady state).
    warm_up = make_articles(CHECKPOINTS[0], 500, seed=8, prefix="warm-up", language=args.language)
    whole.annotate([Document(a.id, a.title, a.text, a.feed_language) for a in warm_up])
    cpu: dict[str, float] = defaultdict(float, dict.fromkeys(BARE, 0.0))  # the baselines print first
    clock = time.process_time

    for start in range(0, len(documents), args.chunk):
        chunk = documents[start:start + args.chunk]
        bodies = [d.body for d in chunk]
        rows = [(BARE[0], plain, False), (BARE[1], untaught, True), (BARE[2], nlp, True)]
        shift = (start // args.chunk) % len(rows)  # rotate the order chunk by chunk: no row always runs first
        for name, pipeline, zoned in rows[shift:] + rows[:shift]:
            began = clock()
            with pipeline.memory_zone() if zoned else contextlib.nullcontext():
                for _ in pipeline.pipe(bodies):
                    pass
            cpu[name] += clock() - began

        began = clock()
        whole.annotate(chunk)
        cpu["whole Annotator.annotate"] += clock() - began

        # The same steps as Annotator.annotate, timed one by one.
        began = clock()
        languages = [langid.identify(d.title, d.text, d.language_hint) for d in chunk]
        cpu["language id"] += clock() - began
        found_per_doc = []
        with nlp.memory_zone():
            began = clock()
            for document, text, doc in zip(chunk, bodies, nlp.pipe(bodies), strict=True):
                split = clock()
                cpu["NER inside the annotator"] += split - began
                found = tidy(text, [Mention(text[e.start_char:e.end_char], e.label_, e.start_char)
                                    for e in doc.ents])
                tokens = [(s, s + n) for s, n in doc.to_array([IDX, LENGTH]).tolist()]
                cpu["entities and token offsets"] += clock() - split
                split = clock()
                found = rules.apply(args.language, text, tokens, found)
                cpu["rules"] += clock() - split
                split = clock()
                found = filters(args.language, text, found)
                cpu["precision filters, name lists and types"] += clock() - split
                split = clock()
                found_per_doc.append(propagate(text, found, tokens, len(document.title)))
                cpu["propagation"] += clock() - split
                began = clock()
        began = clock()
        tagged = topics.tag_many([(d.title, d.text) for d in chunk])
        cpu["topics"] += clock() - began
        began = clock()
        entities = [normalise(found) for found in found_per_doc]
        cpu["normalising"] += clock() - began
        began = clock()
        annotations = [Annotation(id=d.id, language=lang, language_score=score, entities=e, topics=t,
                                  models={"language": LANGUAGE_MODEL, "entities": spec, "topics": topics.MODEL_NAME})
                       for d, (lang, score), e, t in zip(chunk, languages, entities, tagged, strict=True)]
        dumped = [a.model_dump() for a in annotations]
        cpu["records"] += clock() - began
        began = clock()
        pickle.loads(pickle.dumps(chunk))
        pickle.loads(pickle.dumps(dumped))
        cpu["pickling to and from the pool"] += clock() - began

    base = cpu[BASELINE]
    print(f"{args.articles} synthetic ~500-word articles, language {args.language}, model {spec}, "
          f"chunks of {args.chunk}; process CPU time")
    for name, seconds in cpu.items():
        print(f"  {name:32s} {seconds / args.articles * 1000:7.2f} ms/article  {seconds / base:6.3f} of bare nlp.pipe")
    extras = sum(seconds for name, seconds in cpu.items()
                 if name not in (*BARE, "whole Annotator.annotate", "NER inside the annotator"))
    print(f"  {'extras (sum of the parts)':32s} {extras / args.articles * 1000:7.2f} ms/article  "
          f"{extras / base:6.3f} of bare nlp.pipe")


if __name__ == "__main__":
    main()
