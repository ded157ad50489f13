"""Normalisation used for scoring references and hypotheses alike."""

from __future__ import annotations

import pytest

from speech.normalize import VERSION, normalize, number_words, ordinal_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("He was NOT an ill-disposed young man.", "he was not an ill disposed young man"),
        ("I'd take 2 tablets & 1 capsule", "i'd take two tablets and one capsule"),
        ("Take 12.5 mg at 21st", "take twelve point five mg at twenty first"),
        ("1,205 orders, 100% filled", "one thousand two hundred five orders one hundred percent filled"),
        ("costs $40", "costs forty dollars"),
        ("“Quoted” 'words'", "quoted words"),
        ("  spaced\tout \n", "spaced out"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_numbers() -> None:
    assert number_words(0) == "zero"
    assert number_words(115) == "one hundred fifteen"
    assert number_words(2_000_019) == "two million nineteen"
    assert ordinal_words(3) == "third"
    assert ordinal_words(40) == "fortieth"
    assert ordinal_words(112) == "one hundred twelfth"


def test_normalisation_is_idempotent_and_versioned() -> None:
    text = "Dr. Smith's 3rd visit: 14 patients (2 new)."
    assert normalize(normalize(text)) == normalize(text)
    assert VERSION
