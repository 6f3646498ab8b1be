"""Build a small but structurally real `.argosmodel` (sentencepiece + CTranslate2) for tests.

The weights are random but deterministic (seeded). A ramp in the decoder's learned position
encodings feeds the `</s>` logit so decoding stops after roughly 15-30 steps instead of
running to the length limit, which keeps benchmarks and tests meaningful.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import zipfile
from pathlib import Path

import ctranslate2
import numpy as np
import sentencepiece as spm
from ctranslate2.specs import attention_spec, common_spec, transformer_spec

SPECIALS = ["<blank>", "<unk>", "<s>", "</s>"]
EOS_INDEX = 3
MAX_POSITIONS = 1024
_RAMP_DIM = 0
_WORDS = [
    "the",
    "suspect",
    "sold",
    "false",
    "invoices",
    "to",
    "a",
    "company",
    "bank",
    "account",
    "money",
    "was",
    "sent",
    "court",
    "prosecutor",
    "witness",
    "hearing",
    "evidence",
    "request",
    "judicial",
    "authority",
    "please",
    "provide",
    "statements",
    "period",
    "from",
    "january",
    "to",
    "june",
    "contract",
    "documents",
    "signed",
    "statement",
    "trial",
    "starts",
    "february",
    "fraud",
    "laundering",
    "prison",
    "years",
    "search",
    "seizure",
    "premises",
    "freezing",
    "assets",
    "transfer",
    "transaction",
    "police",
    "investigation",
    "criminal",
    "proceedings",
    "defendant",
    "lawyer",
    "interpreter",
    "video",
    "link",
    "examination",
    "expert",
    "report",
    "copy",
    "original",
    "records",
    "telephone",
    "address",
    "person",
    "identity",
    "passport",
    "arrest",
    "warrant",
    "surrender",
    "offence",
    "penalty",
    "maximum",
    "article",
    "section",
    "paragraph",
    "law",
    "code",
    "of",
    "under",
    "in",
    "at",
    "on",
    "by",
    "with",
    "and",
    "or",
    "not",
    "is",
    "are",
    "has",
    "have",
    "had",
    "will",
    "shall",
    "may",
    "must",
    "be",
    "been",
    "this",
    "that",
    "these",
    "those",
    "which",
    "who",
]


def build_argos_package(
    out_path: Path,
    *,
    from_code: str,
    to_code: str,
    layers: int = 2,
    d_model: int = 64,
    heads: int = 4,
    vocab_size: int = 600,
    seed: int = 0,
    package_version: str = "1.0",
    corpus_sentences: int = 3000,
) -> Path:
    """Write a zipped Argos package at `out_path` and return it."""
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="argos-build-") as tmp:
        root = Path(tmp) / f"translate-{from_code}_{to_code}-{package_version.replace('.', '_')}"
        root.mkdir()
        pieces = _train_sentencepiece(root, vocab_size, seed, corpus_sentences)
        spec = _transformer_spec(pieces, layers, d_model, heads, seed)
        (root / "model").mkdir()
        spec.save(str(root / "model"))
        _save_spacy_sentencizer(root / "spacy")
        metadata = {
            "package_version": package_version,
            "argos_version": "1.11.0",
            "from_code": from_code,
            "from_name": from_code.upper(),
            "to_code": to_code,
            "to_name": to_code.upper(),
            "type": "translate",
            "links": [],
        }
        (root / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        (root / "README.md").write_text("Synthetic test package, random weights.\n")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(root.parent).as_posix())
    return out_path


def _train_sentencepiece(root: Path, vocab_size: int, seed: int, sentences: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 - deterministic synthetic corpus, not security
    words = list(_WORDS)
    # Synthetic pseudo-words give the trainer enough distinct material for large vocabularies.
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    words += ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(vocab_size)]
    lines = []
    for _ in range(sentences):
        sentence = " ".join(rng.choices(words, k=rng.randint(6, 18)))
        number = f"{rng.randint(1, 99999)}"
        lines.append(sentence.capitalize() + f" {number}, EUR {number}.00 (art. {number[:3]}).")
    corpus = root.parent / "corpus.txt"
    corpus.write_text("\n".join(lines), encoding="utf-8")
    prefix = root.parent / "sp"
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        num_threads=2,
        minloglevel=2,
    )
    shutil.copy(f"{prefix}.model", root / "sentencepiece.model")
    processor = spm.SentencePieceProcessor(model_file=str(root / "sentencepiece.model"))
    return [processor.id_to_piece(i) for i in range(3, processor.get_piece_size())]


def _transformer_spec(
    pieces: list[str], layers: int, d_model: int, heads: int, seed: int
) -> transformer_spec.TransformerSpec:
    rng = np.random.default_rng(seed)
    vocab = SPECIALS + pieces
    size = len(vocab)
    spec = transformer_spec.TransformerSpec.from_config((layers, layers), heads)
    encoder, decoder = spec.encoder, spec.decoder

    def normal(*shape: int, scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    encoder.embeddings[0].weight = normal(size, d_model, scale=d_model**-0.5)
    encoder.position_encodings.encodings = normal(MAX_POSITIONS, d_model, scale=0.1)
    _fill_norm(encoder.layer_norm, d_model)
    for layer in encoder.layer:
        _fill_attention(layer.self_attention, d_model, normal, fused=3)
        _fill_ffn(layer.ffn, d_model, normal)
    decoder.embeddings.weight = normal(size, d_model, scale=d_model**-0.5)
    positions = normal(MAX_POSITIONS, d_model, scale=0.1)
    # The ramp: position t carries 0.1*t in one dimension, which the </s> row reads.
    positions[:, _RAMP_DIM] = 0.1 * np.arange(MAX_POSITIONS, dtype=np.float32)
    decoder.position_encodings.encodings = positions
    _fill_norm(decoder.layer_norm, d_model)
    projection = normal(size, d_model, scale=d_model**-0.5)
    projection[EOS_INDEX] = 0.0
    projection[EOS_INDEX, _RAMP_DIM] = 2.5
    projection[:EOS_INDEX] = 0.0
    decoder.projection.weight = projection
    bias = np.zeros(size, dtype=np.float32)
    bias[:EOS_INDEX] = -1e4  # never emit <blank>, <unk> or <s>
    bias[EOS_INDEX] = -3.5
    decoder.projection.bias = bias
    for layer in decoder.layer:
        _fill_attention(layer.self_attention, d_model, normal, fused=3)
        _fill_cross_attention(layer.attention, d_model, normal)
        _fill_ffn(layer.ffn, d_model, normal)
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization="int8")
    return spec


def _fill_norm(norm: common_spec.LayerNormSpec, d_model: int) -> None:
    norm.gamma = np.ones(d_model, dtype=np.float32)
    norm.beta = np.zeros(d_model, dtype=np.float32)


def _fill_linear(linear: common_spec.LinearSpec, rows: int, cols: int, normal: object) -> None:
    linear.weight = normal(rows, cols)  # type: ignore[operator]
    linear.bias = np.zeros(rows, dtype=np.float32)


def _fill_attention(
    attention: attention_spec.MultiHeadAttentionSpec, d_model: int, normal: object, fused: int
) -> None:
    _fill_norm(attention.layer_norm, d_model)
    _fill_linear(attention.linear[0], fused * d_model, d_model, normal)
    _fill_linear(attention.linear[1], d_model, d_model, normal)


def _fill_cross_attention(
    attention: attention_spec.MultiHeadAttentionSpec, d_model: int, normal: object
) -> None:
    _fill_norm(attention.layer_norm, d_model)
    _fill_linear(attention.linear[0], d_model, d_model, normal)
    _fill_linear(attention.linear[1], 2 * d_model, d_model, normal)
    _fill_linear(attention.linear[2], d_model, d_model, normal)


def _fill_ffn(ffn: transformer_spec.FeedForwardSpec, d_model: int, normal: object) -> None:
    _fill_norm(ffn.layer_norm, d_model)
    _fill_linear(ffn.linear_0, 4 * d_model, d_model, normal)
    _fill_linear(ffn.linear_1, d_model, 4 * d_model, normal)


def _save_spacy_sentencizer(target: Path) -> None:
    """A rule-based splitter so argostranslate's SPACY chunking works offline."""
    import spacy

    nlp = spacy.blank("xx")
    nlp.to_disk(target)


def model_version() -> str:
    return str(ctranslate2.__version__)
