"""Scoring time for 10,000 utterances: Attune's sclite-compatible scorer vs jiwer vs sclite.

    .venv/bin/python bench/scoring_speed.py [--utterances 10000] [--seed 1]

The utterances are synthetic but shaped like test sets: references of 5-30 words drawn
from the CMU dictionary's words with a Zipf-like frequency, hypotheses with about 20% of
the words substituted, deleted or inserted. All three scorers get the same pairs in one
run; the report gives seconds, utterances per second, and whether the counts agree.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

import harness
import jiwer

from speech.packages import bundled_root
from speech.scoring import score_set, score_utterance
from speech.vocabulary import dictionary_words

REPORT = Path(__file__).resolve().parent / "results" / "scoring_speed.md"


def synthetic_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = sorted(dictionary_words(bundled_root("pocketsphinx") / "en-us" / "cmudict-en-us.dict"))
    common = [w for w in words if w.isalpha()][:20_000]
    weights = [1 / (rank + 1) for rank in range(len(common))]
    pairs = []
    for _ in range(count):
        reference = rng.choices(common, weights, k=rng.randint(5, 30))
        hypothesis: list[str] = []
        for word in reference:
            roll = rng.random()
            if roll < 0.10:
                hypothesis.append(rng.choice(common))  # substitution
            elif roll < 0.15:
                continue  # deletion
            elif roll < 0.20:
                hypothesis += [word, rng.choice(common)]  # insertion
            else:
                hypothesis.append(word)
        pairs.append((" ".join(reference), " ".join(hypothesis)))
    return pairs


def timed(run: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()  # type: ignore[operator]
    return time.perf_counter() - started, result


def sclite_errors(pairs: list[tuple[str, str]], folder: Path) -> tuple[float, int]:
    (folder / "ref.trn").write_text("".join(f"{r} (set-u{k})\n" for k, (r, _) in enumerate(pairs)))
    (folder / "hyp.trn").write_text("".join(f"{h} (set-u{k})\n" for k, (_, h) in enumerate(pairs)))
    command = ["sctk", "sclite", "-r", "ref.trn", "trn", "-h", "hyp.trn", "trn", "-i", "spu_id", "-o", "dtl", "stdout"]
    started = time.perf_counter()
    report = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - started
    line = next(line for line in report.splitlines() if line.startswith("Percent Total Error"))
    return seconds, int(line.rsplit("(", 1)[1].rstrip(")").strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utterances", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    info = harness.machine_info()
    pairs = synthetic_pairs(args.utterances, args.seed)
    words = sum(len(r.split()) for r, _ in pairs)

    ours_s, ours = timed(lambda: score_set([score_utterance(r, h) for r, h in pairs]))
    jiwer_s, output = timed(lambda: jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs]))
    with tempfile.TemporaryDirectory() as scratch:
        sclite_s, sclite_total = sclite_errors(pairs, Path(scratch))

    ours_errors = ours.counts.errors  # type: ignore[attr-defined]
    jiwer_errors = output.substitutions + output.deletions + output.insertions  # type: ignore[attr-defined]
    rows = [
        ("Attune scorer (sclite weights, pure Python)", ours_s, ours_errors),
        ("jiwer.process_words (unweighted Levenshtein, C++)", jiwer_s, jiwer_errors),
        ("sclite (sctk, C, includes process start and file reading)", sclite_s, sclite_total),
    ]
    lines = [
        *harness.report_head("Scoring speed: 10,000 utterances", "scoring_speed.py", info),
        f"- input: {len(pairs)} synthetic utterance pairs, {words} reference words (seed {args.seed})",
        "",
        "| scorer | seconds | utterances/s | errors counted |",
        "|---|---|---|---|",
        *(f"| {name} | {seconds:.2f} | {len(pairs) / seconds:,.0f} | {errors} |" for name, seconds, errors in rows),
        "",
        f"Attune's counts equal sclite's: {'yes' if ours_errors == sclite_total else 'NO'}. "
        "jiwer minimises the number of edits with equal weights, so its total can be lower "
        "than sclite's where sclite's weights (4/3/3) prefer a deletion plus an insertion.",
    ]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
