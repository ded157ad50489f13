"""Reading recordings that come with Sphinx-style transcriptions, and packing them as an
Acoustic dataset upload (a zip of WAVs plus `trans.txt`).

A Sphinx transcription line reads `<s> words </s> (utterance-id)`; the recording is
`<utterance-id>.wav` beside it. Debian's pocketsphinx-testdata ships such a set (librivox).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import BinaryIO

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
_LINE = re.compile(r"^(?:<s>\s*)?(.*?)(?:\s*</s>)?\s*\(([^()]+)\)$")


def read_sphinx_transcription(path: Path) -> dict[str, str]:
    """`<utterance-id>.wav` -> transcript, for each line of a Sphinx transcription file."""
    transcripts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line.strip())
        if match:
            transcripts[f"{match.group(2)}.wav"] = match.group(1).strip()
    return transcripts


def write_acoustic_zip(folder: Path, transcripts: dict[str, str], out: BinaryIO) -> None:
    """Writes the recordings named in `transcripts` (found in `folder`) and a trans.txt."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(transcripts):
            archive.write(folder / name, name)
        archive.writestr("trans.txt", "".join(f"{n}\t{t}\n" for n, t in sorted(transcripts.items())))
