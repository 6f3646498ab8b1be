"""RFC 9162 §2.1 Merkle tree hashing, proofs and their verification (pure).

Trees are addressed by perfect subtrees: node ``(level, index)`` covers the
leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash.
Proof generators take a ``NodeGetter`` for those perfect subtrees, so storage
can answer them with O(log n) look-ups.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from gateway.audit.errors import VerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeGetter = Callable[[int, int], bytes]
Node = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_pieces(start: int, end: int) -> list[Node]:
    """Perfect subtrees covering [start, end), largest first (start aligned by caller)."""
    pieces: list[Node] = []
    position = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        pieces.append((level, position >> level))
        position += 1 << level
        remaining -= 1 << level
    return pieces


def subtree_hash(get: NodeGetter, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range produced by the RFC 9162 recursion."""
    if end <= start:
        return EMPTY_ROOT
    pieces = [get(level, index) for level, index in _perfect_pieces(start, end)]
    result = pieces[-1]
    for piece in reversed(pieces[:-1]):
        result = node_hash(piece, result)
    return result


def root_hash(get: NodeGetter, size: int) -> bytes:
    return subtree_hash(get, 0, size)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root of an in-memory list of leaf hashes (O(n))."""
    frontier: list[bytes] = []
    for index, value in enumerate(leaf_hashes):
        frontier, _ = compact_append(frontier, index, value)
    return compact_root(frontier)


def inclusion_proof(get: NodeGetter, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) per RFC 9162 §2.1.3.1, deepest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside tree of size {size}")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            siblings.append(subtree_hash(get, start + k, end))
            end = start + k
        else:
            siblings.append(subtree_hash(get, start, start + k))
            start = start + k
    siblings.reverse()
    return siblings


def consistency_proof(get: NodeGetter, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) per RFC 9162 §2.1.4.1."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    hashes: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                hashes.append(subtree_hash(get, start, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            hashes.append(subtree_hash(get, start + k, end))
            end = start + k
        else:
            hashes.append(subtree_hash(get, start, start + k))
            start, m, complete = start + k, m - k, False
    hashes.reverse()
    return hashes


def required_nodes(generate: Callable[[NodeGetter], object]) -> list[Node]:
    """The perfect subtrees a generator reads; its control flow ignores hash values."""
    seen: list[Node] = []

    def record(level: int, index: int) -> bytes:
        seen.append((level, index))
        return bytes(HASH_SIZE)

    generate(record)
    return list(dict.fromkeys(seen))


def compact_append(
    frontier: list[bytes], size: int, new_leaf_hash: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Append one leaf to a compact range; returns the new frontier and the
    perfect nodes ``(level, index, hash)`` completed by it (level 0 included)."""
    stack = list(frontier)
    completed: list[tuple[int, int, bytes]] = [(0, size, new_leaf_hash)]
    current = new_leaf_hash
    level = 0
    while (size >> level) & 1:
        current = node_hash(stack.pop(), current)
        level += 1
        completed.append((level, size >> level, current))
    stack.append(current)
    return stack, completed


def compact_root(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    result = frontier[-1]
    for piece in reversed(frontier[:-1]):
        result = node_hash(piece, result)
    return result


def frontier_nodes(size: int) -> list[Node]:
    """The perfect subtrees forming the compact range of a tree of ``size``."""
    return _perfect_pieces(0, size)


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError("bad-hash-length", f"{what} is {len(value)} bytes, expected 32")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf hash and its path (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise VerificationError("index-out-of-range", f"leaf index {index} not below size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, result = index, size - 1, leaf
    for element in proof:
        _check_hash(element, "proof element")
        if sn == 0:
            raise VerificationError("proof-too-long", "inclusion proof has extra elements")
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("proof-too-short", "inclusion proof lacks elements")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    _check_hash(root, "root")
    if not _same(root_from_inclusion_proof(index, size, leaf, proof), root):
        raise VerificationError(
            "inclusion-mismatch", f"leaf {index} not included in tree of size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises VerificationError unless the trees are consistent."""
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    if not 0 <= old_size <= new_size:
        raise VerificationError("size-regression", f"size {old_size} > {new_size}")
    if old_size == new_size:
        if proof:
            raise VerificationError("proof-too-long", "equal sizes need an empty proof")
        if not _same(old_root, new_root):
            raise VerificationError("consistency-mismatch", "different roots for the same size")
        return
    if old_size == 0:
        if proof:
            raise VerificationError("proof-too-long", "empty old tree needs an empty proof")
        return
    if not proof:
        raise VerificationError("proof-too-short", "consistency proof is empty")
    for element in proof:
        _check_hash(element, "proof element")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise VerificationError("proof-too-long", "consistency proof has extra elements")
        if fn & 1 or fn == sn:
            old_result = node_hash(element, old_result)
            new_result = node_hash(element, new_result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_result = node_hash(new_result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("proof-too-short", "consistency proof lacks elements")
    if not _same(old_result, old_root):
        raise VerificationError(
            "consistency-mismatch", f"old root for size {old_size} not reproduced"
        )
    if not _same(new_result, new_root):
        raise VerificationError(
            "consistency-mismatch", f"new root for size {new_size} not reproduced"
        )
