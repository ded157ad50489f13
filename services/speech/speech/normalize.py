"""Text normalisation for scoring: references and recognition output go through the same steps.

Lower case, numbers spelled out, symbols read as words, punctuation removed (apostrophes
inside words kept: "don't"), hyphens split, whitespace collapsed. The rules are versioned:
a stored normalised text carries `VERSION`, and any change to the rules bumps it, so two
scores are compared only when they were normalised alike.
"""

from __future__ import annotations

import re
import unicodedata

VERSION = "en-1"

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals "}

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(?![\w])")
_CURRENCY = re.compile(r"\$(\d[\d,]*(?:\.\d+)?)")
_NOT_WORD = re.compile(r"[^\w' ]+")
_EDGE_APOSTROPHES = re.compile(r"(?<!\w)'|'(?!\w)")


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        n %= 10
        if n:
            words.append(_ONES[n])
    elif n or not words:
        words.append(_ONES[n])
    return words


def number_words(n: int) -> str:
    """Spells out a non-negative integer: 1205 -> "one thousand two hundred five"."""
    if n < 1000:
        return " ".join(_below_thousand(n))
    words: list[str] = []
    for scale, name in _SCALES:
        if n >= scale:
            words += [*number_words(n // scale).split(), name]
            n %= scale
    if n:
        words += _below_thousand(n)
    return " ".join(words)


def ordinal_words(n: int) -> str:
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _spell_number(match: re.Match[str]) -> str:
    whole, fraction, suffix = match.group(1), match.group(2), match.group(3)
    value = int(whole.replace(",", ""))
    if suffix and not fraction:
        return f" {ordinal_words(value)} "
    spoken = number_words(value)
    if fraction:
        spoken += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return f" {spoken} "


def normalize(text: str) -> str:
    """The scoring form of `text` (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = _CURRENCY.sub(lambda m: f" {m.group(1)} dollars ", text)
    for symbol, spoken in _SYMBOLS.items():
        text = text.replace(symbol, spoken)
    text = _NUMBER.sub(_spell_number, text)
    text = text.replace("-", " ").replace("_", " ")
    text = _NOT_WORD.sub(" ", text)
    text = _EDGE_APOSTROPHES.sub(" ", text)
    return " ".join(text.split())
