"""Loading a model package with the engine its manifest names (the one place that knows
which engines exist; everything else uses the interface in `speech.engine`)."""

from __future__ import annotations

from pathlib import Path

from speech.engine import LoadedModel, ModelLoadError
from speech.packages import Manifest, read_manifest
from speech.pocketsphinx_engine import PocketSphinxModel


def load_model(package_dir: Path, manifest: Manifest | None = None) -> LoadedModel:
    """Loads a model package; `manifest` is its already validated manifest, when the caller has it."""
    if manifest is None:
        manifest = read_manifest(package_dir)
    if manifest.engine == "pocketsphinx":
        return PocketSphinxModel.load(package_dir, manifest)
    raise ModelLoadError(f"unknown engine {manifest.engine!r}")
