"""The code stays ruff- and mypy-clean (the house style's habits, checked on every run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "services", "tests", "bench", "scripts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_services_type_check() -> None:
    packages = sorted(str(init.parent) for init in (ROOT / "services").glob("*/*/__init__.py"))
    result = run(str(BIN / "mypy"), *packages)
    assert result.returncode == 0, result.stdout + result.stderr
