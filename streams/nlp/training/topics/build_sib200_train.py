"""Build streams/nlp/data/iptc_sib200_train.jsonl from sib200/<lang>_Latn/train.tsv (streams/nlp/sib200.py).

    .venv/bin/python streams/nlp/training/topics/build_sib200_train.py [--check]

Then `python -m streams.nlp.topics --build` retrains the head on it.
"""

import sys

from streams.nlp.sib200 import main

if __name__ == "__main__":
    sys.exit(main())
