"""What a model can recognise at all: the words of its pronunciation dictionary.

A reference word missing from the dictionary can never be recognised by that model, so
the evaluation reports such out-of-vocabulary words apart: they call for pronunciation or
language adaptation, not for better audio.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from speech.packages import read_manifest, resolve_resource

_ALTERNATE = re.compile(r"\(\d+\)$")
DICTIONARY_RESOURCES = ("dictionary", "dictionaryAdditions")


def dictionary_words(path: Path) -> set[str]:
    """The words of a CMU-style dictionary (`word PH1 PH2 ...`, `word(2) ...` alternates)."""
    words = set()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            head = line.split(maxsplit=1)[0] if line.strip() else ""
            if head and not head.startswith((";;;", "#")):
                words.add(_ALTERNATE.sub("", head).lower())
    return words


def model_vocabulary(package_dir: Path) -> frozenset[str]:
    """Every word the package's dictionary and dictionary additions know."""
    manifest = read_manifest(package_dir)
    words: set[str] = set()
    for key in DICTIONARY_RESOURCES:
        path = resolve_resource(package_dir, manifest, key)
        if path is not None:
            words |= dictionary_words(path)
    return frozenset(words)


def out_of_vocabulary(references: Iterable[str], vocabulary: frozenset[str]) -> list[tuple[str, int]]:
    """Reference words (normalised texts) the vocabulary lacks, most frequent first."""
    missing = Counter(word for text in references for word in text.split() if word not in vocabulary)
    return sorted(missing.items(), key=lambda item: (-item[1], item[0]))
