"""End-to-end log verification (pure): recompute every hash, check every
checkpoint signature and their consistency, and say exactly where it breaks.

``reference`` is an independent per-index record of leaf hashes (the stored
tree's level-0 nodes, or an export's recorded hashes). Diffing the recomputed
sequence against it classifies damage as changed / deleted / reordered /
inserted; signed checkpoints catch any rewrite that also forged the reference.
"""

from __future__ import annotations

import difflib
import hmac
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.checkpoint import Checkpoint, open_checkpoint
from gateway.audit.errors import VerificationError
from gateway.audit.merkle import (
    consistency_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
)

MAX_PROBLEMS = 200
_MAX_DIFF_WINDOW = 20_000


@dataclass(frozen=True)
class Problem:
    kind: str  # changed|deleted|reordered|inserted|truncated|checkpoint_*|node_/head_mismatch
    index: int | None
    detail: str

    def line(self) -> str:
        where = "log" if self.index is None else f"entry {self.index}"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    entries: int = 0
    checkpoints_verified: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    _seen: set[tuple[str, int | None]] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    def add(self, kind: str, index: int | None, detail: str) -> None:
        if (kind, index) in self._seen:
            return
        self._seen.add((kind, index))
        self.problems_total += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, index, detail))

    def kinds_at(self) -> set[tuple[str, int | None]]:
        return {(p.kind, p.index) for p in self.problems}


@dataclass(frozen=True)
class StoredLeaf:
    """One leaf as storage holds it: ``claimed_index`` is the row's own index."""

    claimed_index: int
    entry: bytes
    stored_leaf_hash: bytes


def _build_levels(leaves: list[bytes]) -> list[list[bytes]]:
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _diff(report: Report, actual: list[bytes], reference: Sequence[bytes | None]) -> None:
    n, m = len(reference), len(actual)
    prefix = 0
    while prefix < min(n, m) and reference[prefix] == actual[prefix]:
        prefix += 1
    if prefix == n == m:
        return
    suffix = 0
    while suffix < min(n, m) - prefix and reference[n - 1 - suffix] == actual[m - 1 - suffix]:
        suffix += 1
    ref_window = list(reference[prefix : n - suffix])
    act_window = actual[prefix : m - suffix]
    if max(len(ref_window), len(act_window)) > _MAX_DIFF_WINDOW:
        report.add(
            "changed", prefix, f"entries {prefix}..{m - suffix - 1} differ from the stored tree"
        )
        return
    matcher = difflib.SequenceMatcher(None, ref_window, act_window, autojunk=False)
    deleted: dict[bytes | None, int] = {}
    inserted: dict[bytes | None, int] = {}
    changed: list[int] = []
    for tag, r1, r2, a1, a2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            for r in range(r1, r2):
                deleted.setdefault(ref_window[r], prefix + r)
        if tag in ("insert", "replace"):
            for a in range(a1, a2):
                inserted.setdefault(act_window[a], prefix + a)
        if tag == "replace":
            changed += [prefix + a1 + i for i in range(min(r2 - r1, a2 - a1))]
    moved = {h for h in inserted if h in deleted}
    for value, position in sorted(inserted.items(), key=lambda item: item[1]):
        if value in moved:
            report.add("reordered", position, f"entry {deleted[value]} now appears at {position}")
        elif position not in changed:
            report.add("inserted", position, "entry not in the stored tree")
        else:
            report.add("changed", position, "entry differs from the stored tree")
    changed_refs = {r for r in range(len(ref_window)) if prefix + r in changed}
    for value, position in sorted(deleted.items(), key=lambda item: item[1]):
        if value not in moved and position - prefix not in changed_refs:
            report.add("deleted", position, "stored tree has an entry missing here")


def _check_checkpoints(
    report: Report,
    texts: Iterable[str],
    levels: list[list[bytes]],
    log_public_key: Ed25519PublicKey,
) -> None:
    size = len(levels[0])

    def get(level: int, index: int) -> bytes:
        return levels[level][index]

    opened: list[Checkpoint] = []
    for text in texts:
        try:
            opened.append(open_checkpoint(text, log_public_key))
        except VerificationError as exc:
            report.add("checkpoint_forged", None, f"{exc.code}: {exc.detail}")
    report.checkpoints_verified = len(opened)
    good: list[Checkpoint] = []
    for checkpoint in sorted(opened, key=lambda c: c.size):
        if checkpoint.size > size:
            report.add(
                "truncated", size, f"checkpoint of size {checkpoint.size} covers missing entries"
            )
        elif not hmac.compare_digest(root_hash(get, checkpoint.size), checkpoint.root):
            start = good[-1].size if good else 0
            report.add(
                "checkpoint_mismatch",
                start,
                f"checkpoint size {checkpoint.size} root differs: log rewritten within entries"
                f" {start}..{checkpoint.size - 1}",
            )
        else:
            good.append(checkpoint)
    for older, newer in itertools.pairwise(good):
        proof = consistency_proof(get, older.size, newer.size)
        try:
            verify_consistency(older.size, newer.size, older.root, newer.root, proof)
        except VerificationError as exc:
            report.add("checkpoint_inconsistent", older.size, exc.detail)


def verify_log(
    leaves: Iterable[StoredLeaf],
    reference: Sequence[bytes | None],
    checkpoints: Iterable[str],
    log_public_key: Ed25519PublicKey,
    recorded_root: bytes | None = None,
    stored_nodes: Iterable[tuple[int, int, bytes]] = (),
) -> Report:
    report = Report()
    actual: list[bytes] = []
    for position, leaf in enumerate(leaves):
        recomputed = leaf_hash(leaf.entry)
        actual.append(recomputed)
        if not hmac.compare_digest(recomputed, leaf.stored_leaf_hash):
            report.add("changed", position, "entry bytes do not match their stored leaf hash")
    report.entries = len(actual)
    _diff(report, actual, reference)
    levels = _build_levels(actual)
    _check_checkpoints(report, checkpoints, levels, log_public_key)
    if recorded_root is not None:
        recomputed_root = root_hash(lambda level, index: levels[level][index], len(actual))
        if not hmac.compare_digest(recorded_root, recomputed_root):
            report.add(
                "head_mismatch", None, "recorded tree head root differs from the recomputed one"
            )
    for level, index, value in stored_nodes:
        known = level < len(levels) and index < len(levels[level])
        if known and not hmac.compare_digest(levels[level][index], value):
            report.add("node_mismatch", index << level, f"stored node ({level}, {index}) differs")
    return report
