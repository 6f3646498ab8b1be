"""RFC 9162 / RFC 6962 hashing and proofs against the transparency-dev/merkle vectors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit import merkle
from gateway.audit.errors import VerificationError

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
# transparency-dev/merkle testonly.RootHashes(), index = tree size.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# testonly.NodeHashes(): [level][index].
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# proof/verify_test.go inclusionProofs: (leaf number 1-based, size, path).
INCLUSION_VECTORS = [
    (1, 1, []),
    (1, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (6, 8, ["bc1a0643", "ca854ea1", "d37ee418"]),
    (3, 3, ["fac54203"]),
    (2, 5, ["6e340b9c", "5f083f0a", "bc1a0643"]),
]
# proof/verify_test.go consistencyProofs: (size1, size2, path).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (6, 8, ["0ebc5d34", "ca854ea1", "d37ee418"]),
    (2, 5, ["5f083f0a", "bc1a0643"]),
    (6, 7, ["0ebc5d34", "b08693ec", "d37ee418"]),
]


def build_levels(leaf_hashes: list[bytes]) -> list[list[bytes]]:
    levels = [leaf_hashes]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        )
    return levels


def getter(levels: list[list[bytes]]) -> merkle.NodeGetter:
    return lambda level, index: levels[level][index]


def reference_root(leaf_hashes: list[bytes]) -> bytes:
    """MTH straight from the RFC 9162 recursive definition."""
    if not leaf_hashes:
        return merkle.EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = 1 << ((len(leaf_hashes) - 1).bit_length() - 1)
    return merkle.node_hash(reference_root(leaf_hashes[:k]), reference_root(leaf_hashes[k:]))


REF_LEVELS = build_levels([merkle.leaf_hash(x) for x in LEAVES])


def hexes(proof: list[bytes]) -> list[str]:
    return [h.hex()[:8] for h in proof]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root_from_leaf_hashes([]).hex() == ROOTS[0]


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix_of_reference_tree_matches_vector(size: int) -> None:
    assert merkle.root_hash(getter(REF_LEVELS), size).hex() == ROOTS[size]
    assert merkle.root_from_leaf_hashes(REF_LEVELS[0][:size]).hex() == ROOTS[size]


def test_every_perfect_node_of_reference_tree_matches_vector() -> None:
    assert [[h.hex() for h in level] for level in REF_LEVELS] == NODE_HASHES


@pytest.mark.parametrize(("leaf", "size", "expected"), INCLUSION_VECTORS)
def test_inclusion_proof_matches_vector_and_verifies(
    leaf: int, size: int, expected: list[str]
) -> None:
    proof = merkle.inclusion_proof(getter(REF_LEVELS), leaf - 1, size)
    assert hexes(proof) == expected
    root = bytes.fromhex(ROOTS[size])
    merkle.verify_inclusion(leaf - 1, size, REF_LEVELS[0][leaf - 1], proof, root)


@pytest.mark.parametrize(("old", "new", "expected"), CONSISTENCY_VECTORS)
def test_consistency_proof_matches_vector_and_verifies(
    old: int, new: int, expected: list[str]
) -> None:
    proof = merkle.consistency_proof(getter(REF_LEVELS), old, new)
    assert hexes(proof) == expected
    merkle.verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


def corrupted_inclusion_probes(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):  # type: ignore[no-untyped-def]
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, merkle.leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, merkle.EMPTY_ROOT),
        (index, size, leaf, proof, some),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, leaf, flipped, root))
    if proof:
        probes.append((index, size, leaf, proof[:-1], root))
    if len(proof) > 1:
        probes.append((index, size, leaf, [proof[0], some, *proof[1:]], root))
    return probes


@pytest.mark.parametrize(("leaf", "size", "expected"), INCLUSION_VECTORS[1:])
def test_corrupted_inclusion_proofs_are_rejected(leaf: int, size: int, expected: list[str]) -> None:
    proof = merkle.inclusion_proof(getter(REF_LEVELS), leaf - 1, size)
    root = bytes.fromhex(ROOTS[size])
    for probe in corrupted_inclusion_probes(leaf - 1, size, proof, root, REF_LEVELS[0][leaf - 1]):
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*probe)


@pytest.mark.parametrize(("old", "new", "expected"), CONSISTENCY_VECTORS[1:])
def test_corrupted_consistency_proofs_are_rejected(old: int, new: int, expected: list[str]) -> None:
    proof = merkle.consistency_proof(getter(REF_LEVELS), old, new)
    r1, r2 = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, merkle.EMPTY_ROOT, r2, proof),
        (old, new, r1, merkle.EMPTY_ROOT, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((old, new, r1, r2, flipped))
    for probe in probes:
        if probe[0] == 0 and not probe[4]:
            continue  # an empty old tree is consistent with anything, as in RFC 9162
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*probe)


def test_proof_generators_refuse_impossible_ranges() -> None:
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_proof(getter(REF_LEVELS), 8, 8)
    with pytest.raises(ValueError, match="no consistency"):
        merkle.consistency_proof(getter(REF_LEVELS), 5, 4)


def test_wrong_length_hashes_are_rejected() -> None:
    with pytest.raises(VerificationError) as caught:
        merkle.verify_inclusion(0, 1, b"short", [], merkle.EMPTY_ROOT)
    assert caught.value.code == "bad-hash-length"


def test_compact_append_completes_exactly_the_perfect_nodes() -> None:
    frontier: list[bytes] = []
    completed: list[tuple[int, int, bytes]] = []
    for index, value in enumerate(REF_LEVELS[0]):
        frontier, done = merkle.compact_append(frontier, index, value)
        completed += done
    assert sorted((lv, ix) for lv, ix, _ in completed) == sorted(
        (lv, ix) for lv, level in enumerate(REF_LEVELS) for ix in range(len(level))
    )
    assert all(REF_LEVELS[lv][ix] == h for lv, ix, h in completed)


def test_inclusion_proof_reads_only_logarithmically_many_nodes() -> None:
    size = 1_000_000
    nodes = merkle.required_nodes(lambda g: merkle.inclusion_proof(g, 123_457, size))
    assert len(nodes) <= 2 * size.bit_length()
    nodes = merkle.required_nodes(lambda g: merkle.consistency_proof(g, 654_321, size))
    assert len(nodes) <= 2 * size.bit_length()


tree_sizes = st.integers(min_value=1, max_value=300)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[list[bytes]], int, int]:
    size = draw(tree_sizes)
    index = draw(st.integers(min_value=0, max_value=size - 1))
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    return build_levels(leaves), index, size


@settings(max_examples=150, deadline=None)
@given(tree_and_index())
def test_every_inclusion_proof_verifies(case: tuple[list[list[bytes]], int, int]) -> None:
    levels, index, size = case
    root = merkle.root_hash(getter(levels), size)
    assert root == reference_root(levels[0])
    proof = merkle.inclusion_proof(getter(levels), index, size)
    merkle.verify_inclusion(index, size, levels[0][index], proof, root)


@settings(max_examples=150, deadline=None)
@given(tree_sizes, st.data())
def test_every_consistency_proof_verifies(new: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(min_value=0, max_value=new))
    levels = build_levels([merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(new)])
    get = getter(levels)
    proof = merkle.consistency_proof(get, old, new)
    merkle.verify_consistency(
        old, new, merkle.root_hash(get, old), merkle.root_hash(get, new), proof
    )


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_any_single_changed_byte_breaks_inclusion(
    case: tuple[list[list[bytes]], int, int], data: st.DataObject
) -> None:
    levels, index, size = case
    get = getter(levels)
    root = merkle.root_hash(get, size)
    proof = merkle.inclusion_proof(get, index, size)
    blob = bytearray(levels[0][index] + b"".join(proof) + root)
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    blob[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    leaf, rest = bytes(blob[:32]), bytes(blob[32:])
    parts = [rest[i : i + 32] for i in range(0, len(rest), 32)]
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(index, size, leaf, parts[:-1], parts[-1])


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=2, max_value=300), st.data())
def test_any_single_changed_byte_breaks_consistency(new: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(min_value=1, max_value=new - 1))
    levels = build_levels([merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(new)])
    get = getter(levels)
    proof = merkle.consistency_proof(get, old, new)
    blob = bytearray(merkle.root_hash(get, old) + merkle.root_hash(get, new) + b"".join(proof))
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    blob[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    parts = [bytes(blob[i : i + 32]) for i in range(0, len(blob), 32)]
    with pytest.raises(VerificationError):
        merkle.verify_consistency(old, new, parts[0], parts[1], parts[2:])
