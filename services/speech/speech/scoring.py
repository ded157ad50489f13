"""Word error rate the way NIST sclite counts it, per utterance and over a test set.

Words are aligned by dynamic programming with sclite's weights (substitution 4, insertion
3, deletion 3, match 0) and, among equally cheap alignments, sclite's preference (match or
substitution, then insertion, then deletion, tracing back from the end), so correct,
substituted, deleted and inserted counts equal sclite's, not only the total. Texts are
normalised (`speech.normalize`) before they get here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

SUBSTITUTION_COST = 4
INSERTION_COST = 3
DELETION_COST = 3

Operation = Literal["correct", "substitution", "deletion", "insertion"]


@dataclass(frozen=True)
class Edit:
    operation: Operation
    # None for an insertion (reference side) or a deletion (hypothesis side).
    reference: str | None
    hypothesis: str | None


@dataclass(frozen=True)
class Counts:
    correct: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def reference_words(self) -> int:
        return self.correct + self.substitutions + self.deletions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def word_error_rate(self) -> float:
        """Errors per reference word (above 1 when insertions abound; 0 for an empty pair)."""
        if self.reference_words == 0:
            return float(self.insertions > 0)
        return self.errors / self.reference_words

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.correct + other.correct,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )


def align(reference: Sequence[str], hypothesis: Sequence[str]) -> list[Edit]:
    """The sclite alignment of two word sequences."""
    rows, columns = len(reference), len(hypothesis)
    cost = [[0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        cost[i][0] = i * DELETION_COST
    for j in range(1, columns + 1):
        cost[0][j] = j * INSERTION_COST
    for i in range(1, rows + 1):
        above, here = cost[i - 1], cost[i]
        word = reference[i - 1]
        for j in range(1, columns + 1):
            diagonal = above[j - 1] + (0 if word == hypothesis[j - 1] else SUBSTITUTION_COST)
            here[j] = min(diagonal, above[j] + DELETION_COST, here[j - 1] + INSERTION_COST)
    edits: list[Edit] = []
    i, j = rows, columns
    while i or j:
        if i and j:
            same = reference[i - 1] == hypothesis[j - 1]
            if cost[i][j] == cost[i - 1][j - 1] + (0 if same else SUBSTITUTION_COST):
                edits.append(Edit("correct" if same else "substitution", reference[i - 1], hypothesis[j - 1]))
                i, j = i - 1, j - 1
                continue
        if j and cost[i][j] == cost[i][j - 1] + INSERTION_COST:
            edits.append(Edit("insertion", None, hypothesis[j - 1]))
            j -= 1
        else:
            edits.append(Edit("deletion", reference[i - 1], None))
            i -= 1
    edits.reverse()
    return edits


def count(edits: Iterable[Edit]) -> Counts:
    tally = Counter(edit.operation for edit in edits)
    return Counts(tally["correct"], tally["substitution"], tally["deletion"], tally["insertion"])


@dataclass(frozen=True)
class UtteranceScore:
    reference: str
    hypothesis: str
    edits: tuple[Edit, ...]
    counts: Counts


def score_utterance(reference: str, hypothesis: str) -> UtteranceScore:
    """Scores two normalised texts (words separated by whitespace)."""
    edits = align(reference.split(), hypothesis.split())
    return UtteranceScore(reference, hypothesis, tuple(edits), count(edits))


@dataclass(frozen=True)
class SetScore:
    utterances: int
    counts: Counts
    # Utterances with at least one error.
    sentence_errors: int

    @property
    def word_error_rate(self) -> float:
        return self.counts.word_error_rate

    @property
    def sentence_error_rate(self) -> float:
        return self.sentence_errors / self.utterances if self.utterances else 0.0


def score_set(scores: Sequence[UtteranceScore]) -> SetScore:
    total = sum((s.counts for s in scores), Counts())
    return SetScore(len(scores), total, sum(1 for s in scores if s.counts.errors))


def confusion_pairs(scores: Iterable[UtteranceScore], top: int = 20) -> list[tuple[str, str, int]]:
    """The most frequent substitutions: (reference word, recognised word, times)."""
    pairs = Counter(
        (edit.reference, edit.hypothesis)
        for score in scores
        for edit in score.edits
        if edit.operation == "substitution"
    )
    return [(ref or "", hyp or "", times) for (ref, hyp), times in pairs.most_common(top)]
