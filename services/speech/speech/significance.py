"""Is model B really better than model A on this test set? A paired bootstrap over utterances.

Both models decoded the same utterances, so their errors are paired: resampling utterances
with replacement (keeping each utterance's errors for A and B together) gives the spread of
the WER difference that the choice of test utterances alone would cause. The result is a
confidence interval for WER(B) - WER(A) and a two-sided p-value for "no difference".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Resamples per batch, so memory stays at batch x utterances however many are asked for.
_BATCH = 500


@dataclass(frozen=True)
class Comparison:
    word_error_rate_a: float
    word_error_rate_b: float
    # WER(B) - WER(A): negative when B makes fewer errors.
    difference: float
    confidence_low: float
    confidence_high: float
    confidence_level: float
    p_value: float
    resamples: int

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0 (the difference is not the test set's luck)."""
        return self.confidence_low > 0 or self.confidence_high < 0


def paired_bootstrap(
    errors_a: Sequence[int],
    errors_b: Sequence[int],
    reference_words: Sequence[int],
    *,
    resamples: int = 10_000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Compares per-utterance error counts of A and B on the same utterances."""
    if not (len(errors_a) == len(errors_b) == len(reference_words)) or not errors_a:
        raise ValueError("both models need error counts for the same, non-empty list of utterances")
    a = np.asarray(errors_a, dtype=np.int64)
    b = np.asarray(errors_b, dtype=np.int64)
    words = np.asarray(reference_words, dtype=np.int64)
    if words.sum() == 0:
        raise ValueError("the utterances have no reference words")
    rate_a, rate_b = a.sum() / words.sum(), b.sum() / words.sum()
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, resamples, _BATCH):
        picks = rng.integers(0, len(a), size=(min(_BATCH, resamples - start), len(a)))
        total_words = np.maximum(words[picks].sum(axis=1), 1)
        differences.append((b[picks].sum(axis=1) - a[picks].sum(axis=1)) / total_words)
    spread = np.concatenate(differences)
    tail = (1 - confidence_level) / 2
    low, high = np.quantile(spread, [tail, 1 - tail])
    # Two-sided: how often a resampled test set puts the difference on the other side of 0.
    p_value = min(1.0, 2 * min(float(np.mean(spread <= 0)), float(np.mean(spread >= 0))))
    return Comparison(
        word_error_rate_a=float(rate_a),
        word_error_rate_b=float(rate_b),
        difference=float(rate_b - rate_a),
        confidence_low=float(low),
        confidence_high=float(high),
        confidence_level=confidence_level,
        p_value=p_value,
        resamples=resamples,
    )
