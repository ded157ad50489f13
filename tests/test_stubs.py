"""The committed gRPC stubs match the .proto files (regenerate with scripts/gen_protos.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_match_protos() -> None:
    check = subprocess.run(
        ["bash", "scripts/gen_protos.sh", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stdout + check.stderr
