"""Line-by-line checks of text uploads (Language, Pronunciation, an Acoustic `trans.txt`).

Files are read as bytes and split on newlines, so one bad byte sequence rejects its line
only and a 200 MB text never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from ingest.report import Report

_BOM = b"\xef\xbb\xbf"


def decoded_lines(stream: BinaryIO, item: str, report: Report) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that is valid UTF-8 and not blank; the rest are reported."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            report.reject(item, f"not valid UTF-8 (byte {exc.start + 1} of the line)", number)
            continue
        if not text.strip():
            report.reject(item, "empty line", number)
            continue
        yield number, text


def language_line_problem(text: str) -> str | None:
    return None if any(c.isalnum() for c in text) else "no words on the line"


def pronunciation_line_problem(text: str) -> str | None:
    parts = text.split("\t")
    if len(parts) not in (2, 3):
        return "expected 'display form<TAB>spoken form' (optionally a third, phonetic column)"
    display, spoken = parts[0].strip(), parts[1].strip()
    if not display or not spoken:
        return "the display form and the spoken form must both be given"
    return None


def checked_lines(stream: BinaryIO, item: str, report: Report, problem: Callable[[str], str | None]) -> Iterable[str]:
    """The accepted lines; every line is counted in `report`."""
    for number, text in decoded_lines(stream, item, report):
        reason = problem(text)
        if reason:
            report.reject(item, reason, number)
        else:
            report.accept(item, number, listed=False)
            yield text
