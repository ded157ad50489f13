"""The paired bootstrap tells a real difference from the luck of the test set."""

from __future__ import annotations

import random

import pytest

from speech.significance import paired_bootstrap


def test_identical_systems_are_not_significantly_different() -> None:
    errors = [random.Random(3).randint(0, 4) for _ in range(200)]
    result = paired_bootstrap(errors, errors, [12] * 200, resamples=2000)
    assert result.difference == 0
    assert result.p_value == 1.0 and not result.significant


def test_a_consistent_improvement_is_significant_with_an_interval_around_it() -> None:
    rng = random.Random(7)
    errors_a = [rng.randint(2, 5) for _ in range(150)]
    errors_b = [max(0, e - rng.randint(0, 3)) for e in errors_a]
    words = [15] * 150
    result = paired_bootstrap(errors_a, errors_b, words, resamples=4000, seed=1)
    assert result.difference < 0
    assert result.confidence_low <= result.difference <= result.confidence_high < 0
    assert result.p_value < 0.01 and result.significant


def test_a_small_noisy_difference_is_not_called_significant() -> None:
    rng = random.Random(11)
    errors_a = [rng.randint(0, 6) for _ in range(20)]
    errors_b = [max(0, e + rng.choice([-1, 0, 1])) for e in errors_a]
    result = paired_bootstrap(errors_a, errors_b, [10] * 20, resamples=4000, seed=2)
    assert result.confidence_low < 0 < result.confidence_high
    assert result.p_value > 0.05


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same"):
        paired_bootstrap([1, 2], [1], [5, 5])
