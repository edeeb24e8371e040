"""Nothing is dropped without a decision: each source must arrive at least as complete as before.

A source that would have fewer records in the new snapshot than in the previous one, for whatever
reason (its file is missing from the folder or from ``extract.yaml``'s list, misnamed, header-only,
every row quarantined, or simply shorter), stops the ingest: nothing is stored and each such
source is named with the reason. The user decides per source:

* ``--carry-forward SOURCE`` keeps the previous snapshot's records of that source unchanged (the
  snapshot records it, and every output built from it says so);
* ``--allow-fewer SOURCE`` accepts the new, smaller extract (records no longer sent are closed in
  the store's history; earlier snapshots still hold them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Shortfall:
    source: str
    previous_rows: int
    new_rows: int
    reason: str

    def line(self) -> str:
        return (f"  {self.source}: {self.reason} ({self.new_rows:,} rows now against {self.previous_rows:,} in the "
                "previous snapshot).")


def shortfalls(
    previous: Mapping[str, int],
    accepted: Mapping[str, int],
    files: Mapping[str, list[str]],
    quarantined: Mapping[str, int],
    unmatched: list[str],
    *,
    exempt: Collection[str] = (),
) -> list[Shortfall]:
    """Sources with fewer records than in the previous snapshot, each with the plain reason.

    ``previous``: rows per source in the previous snapshot; ``accepted``/``quarantined``: rows per
    source now; ``files``: the files matched to each source now; ``unmatched``: files matched to no
    contract (named as a likely cause when a source has no file)."""
    out = []
    for source, before in sorted(previous.items()):
        now = accepted.get(source, 0)
        if source in exempt or now >= before:
            continue
        if not files.get(source):
            reason = "no file for this source in the folder (or in extract.yaml's list of files)"
            if unmatched:
                reason += f"; files not matched to any source: {', '.join(unmatched)}"
        elif now == 0 and quarantined.get(source, 0) == 0:
            reason = f"{', '.join(files[source])} holds no rows (a header only)"
        elif now == 0:
            reason = f"every row of {', '.join(files[source])} was quarantined"
        else:
            reason = "fewer rows than in the previous snapshot"
        out.append(Shortfall(source, before, now, reason))
    return out


def refusal_message(found: list[Shortfall]) -> str:
    return ("Nothing was stored; the previous store is unchanged. These sources would have fewer records than in "
            "the previous snapshot:\n" + "\n".join(s.line() for s in found) +
            "\nIf that is right, name each source with --allow-fewer SOURCE (accept the smaller extract) or "
            "--carry-forward SOURCE (keep the previous snapshot's records of that source, flagged on every output).")
