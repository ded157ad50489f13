"""Scores equal NIST sclite's (Debian `sctk`) exactly: per utterance and over the set,
correct/substituted/deleted/inserted words, WER and sentence error rate."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from speech.scoring import UtteranceScore, confusion_pairs, score_set, score_utterance

# Pairs with every kind of error, including ties where alignments of equal cost exist.
HAND_MADE = [
    ("the cat sat on the mat", "the cat sat on mat today"),
    ("hello world", "hello there world"),
    ("a b c d", "a x c"),
    ("same here", "same here"),
    ("he was not an ill disposed young man", "he was not until this blows young man"),
    ("and mister john dashwood had then leisure", "and mr john guess would have been at leisure"),
    ("one two three", ""),
    ("", "noise words"),
]


def random_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """Short texts over a four-word vocabulary: many alignments tie, which is where
    counting conventions differ."""
    rng = random.Random(seed)
    vocabulary = ["a", "b", "c", "d"]
    pairs = []
    for _ in range(count):
        reference = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 9)))
        hypothesis = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 9)))
        pairs.append((reference, hypothesis))
    return pairs


def sclite(pairs: list[tuple[str, str]], folder: Path) -> tuple[dict[int, tuple[int, ...]], str]:
    """Per-utterance (C, S, D, I) and the detailed report, as sclite computes them."""
    (folder / "ref.trn").write_text("".join(f"{r} (set-u{k})\n" for k, (r, _) in enumerate(pairs)))
    (folder / "hyp.trn").write_text("".join(f"{h} (set-u{k})\n" for k, (_, h) in enumerate(pairs)))
    run = ["sctk", "sclite", "-r", "ref.trn", "trn", "-h", "hyp.trn", "trn", "-i", "spu_id"]
    alignments = subprocess.run([*run, "-o", "pra", "stdout"], cwd=folder, capture_output=True, text=True, check=True)
    report = subprocess.run([*run, "-o", "dtl", "stdout"], cwd=folder, capture_output=True, text=True, check=True)
    counts = {
        int(utterance): tuple(int(n) for n in scores.split())
        for utterance, scores in re.findall(r"id: \(set-u(\d+)\)\nScores: \(#C #S #D #I\) ([\d ]+)", alignments.stdout)
    }
    return counts, report.stdout


def reported(report: str, label: str) -> int:
    match = re.search(rf"{label}\s*=?\s*[\d.]*%?\s*\(\s*(\d+)\)", report)
    assert match, f"{label!r} not in the sclite report"
    return int(match.group(1))


@pytest.mark.parametrize("seed", [1, 2])
def test_counts_equal_sclite_per_utterance_and_over_the_set(tmp_path: Path, seed: int) -> None:
    pairs = HAND_MADE + random_pairs(400, seed)
    scores = [score_utterance(r, h) for r, h in pairs]
    expected, report = sclite(pairs, tmp_path)

    for k, score in enumerate(scores):
        c = score.counts
        assert (c.correct, c.substitutions, c.deletions, c.insertions) == expected[k], pairs[k]

    total = score_set(scores)
    assert total.counts.correct == reported(report, "Percent Correct")
    assert total.counts.substitutions == reported(report, "Percent Substitution")
    assert total.counts.deletions == reported(report, "Percent Deletions")
    assert total.counts.insertions == reported(report, "Percent Insertions")
    assert total.counts.errors == reported(report, "Percent Total Error")
    assert total.counts.reference_words == reported(report, "Ref. words")
    assert total.sentence_errors == reported(report, "with errors")
    assert total.utterances == len(pairs)
    # The set had every kind of error.
    assert min(total.counts.substitutions, total.counts.deletions, total.counts.insertions) > 0


def test_alignment_marks_each_edit() -> None:
    score = score_utterance("the cat sat on the mat", "the cat sat on mat today")
    assert [(e.operation, e.reference, e.hypothesis) for e in score.edits] == [
        ("correct", "the", "the"),
        ("correct", "cat", "cat"),
        ("correct", "sat", "sat"),
        ("correct", "on", "on"),
        ("deletion", "the", None),
        ("correct", "mat", "mat"),
        ("insertion", None, "today"),
    ]
    assert score.counts.word_error_rate == pytest.approx(2 / 6)


def test_confusion_pairs_count_substitutions() -> None:
    scores: list[UtteranceScore] = [
        score_utterance("take two tablets", "take to tablets"),
        score_utterance("two a day", "to a day"),
        score_utterance("refill please", "refill police"),
    ]
    assert confusion_pairs(scores) == [("two", "to", 2), ("please", "police", 1)]
