"""The dataset report: every file and rejected line, with the reason it was refused."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Enough to show a user every problem in any realistic upload without unbounded rows.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Entry:
    item: str
    line: int
    accepted: bool
    reason: str = ""


@dataclass
class Report:
    accepted: int = 0
    rejected: int = 0
    rejected_entries: list[Entry] = field(default_factory=list)
    accepted_entries: list[Entry] = field(default_factory=list)
    truncated: bool = False

    def accept(self, item: str, line: int = 0, *, listed: bool = True) -> None:
        """Counts an accepted item; `listed` puts it in the report too (files yes, text lines no)."""
        self.accepted += 1
        if listed:
            self._keep(self.accepted_entries, Entry(item, line, True))

    def reject(self, item: str, reason: str, line: int = 0) -> None:
        self.rejected += 1
        self._keep(self.rejected_entries, Entry(item, line, False, reason))

    def _keep(self, entries: list[Entry], entry: Entry) -> None:
        if len(self.rejected_entries) + len(self.accepted_entries) < MAX_ENTRIES:
            entries.append(entry)
        else:
            self.truncated = True

    @property
    def entries(self) -> list[Entry]:
        """Rejected items first: they are what a user opens the report for."""
        return [*self.rejected_entries, *sorted(self.accepted_entries, key=lambda e: (e.item, e.line))]

    def to_json(self, dataset_id: str, kind: str) -> bytes:
        return json.dumps(
            {
                "datasetId": dataset_id,
                "kind": kind,
                "acceptedCount": self.accepted,
                "rejectedCount": self.rejected,
                "truncated": self.truncated,
                "entries": [
                    {"item": e.item, "line": e.line, "accepted": e.accepted, "reason": e.reason} for e in self.entries
                ],
            },
            ensure_ascii=False,
        ).encode()
