"""Out-of-vocabulary words: reference words the model's dictionary does not know."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from speech.packages import bundled_base_package, write_manifest
from speech.vocabulary import model_vocabulary, out_of_vocabulary


def test_bundled_model_knows_common_words_but_not_domain_names(tmp_path: Path) -> None:
    bundled_base_package(tmp_path, str(uuid.uuid4()), datetime.now(UTC))
    vocabulary = model_vocabulary(tmp_path)
    assert len(vocabulary) > 100_000
    assert {"he", "was", "disposed", "amiable"} <= vocabulary
    references = ["take xeljanz twice a day", "xeljanz with food", "refill the olumiant please"]
    assert out_of_vocabulary(references, vocabulary) == [("xeljanz", 2), ("olumiant", 1)]


def test_dictionary_additions_join_the_vocabulary(tmp_path: Path) -> None:
    (tmp_path / "additions.dict").write_text("xeljanz Z EH L JH AE N Z\nxeljanz(2) Z EH L Y AE N Z\n")
    write_manifest(
        tmp_path,
        model_id=str(uuid.uuid4()),
        base_model_id=None,
        kind="custom",
        created=datetime.now(UTC),
        resources={
            "acousticModel": "bundled:en-us/en-us",
            "languageModel": "bundled:en-us/en-us.lm.bin",
            "dictionary": "bundled:en-us/cmudict-en-us.dict",
            "dictionaryAdditions": "additions.dict",
        },
    )
    vocabulary = model_vocabulary(tmp_path)
    assert "xeljanz" in vocabulary and "xeljanz(2)" not in vocabulary
    assert out_of_vocabulary(["take xeljanz"], vocabulary) == []
