"""Install `.argosmodel` archives from local disk into `<data_dir>/models/packages/`, safely.

Archives are untrusted: SHA-256 pinned, zip-slip / symlink / bomb checked, metadata
validated, extracted into a staging dir beside `packages/` and renamed into place in one
step, so argostranslate never sees a folder without metadata.json.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from gateway.domain.errors import DomainError

INSTALL_RECORD = "rogatory-install.json"
_LANG = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z]{2,4})?$")
_VERSION = re.compile(r"^[0-9A-Za-z.+-]{1,32}$")
_PACKAGE_NAME = re.compile(r"^translate-[a-z]{2,3}_[a-z]{2,3}-[0-9A-Za-z_+-]{1,32}$")
_MAX_METADATA = 64 * 1024


class ModelPackageError(DomainError):
    code = "invalid-model-package"
    status = 422


@dataclass(frozen=True)
class PackageLimits:
    max_archive_bytes: int = 2 * 1024**3
    max_uncompressed_bytes: int = 4 * 1024**3
    max_members: int = 5_000
    max_compression_ratio: float = 200.0


@dataclass(frozen=True)
class InstalledPackage:
    name: str
    from_code: str
    to_code: str
    package_version: str
    archive_sha256: str
    path: Path


@dataclass(frozen=True)
class VerifyProblem:
    package: str
    code: str
    detail: str


def models_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "models"


def packages_dir(data_dir: Path) -> Path:
    return models_dir(data_dir) / "packages"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_package(
    data_dir: Path,
    archive: Path,
    *,
    expected_sha256: str | None = None,
    limits: PackageLimits = PackageLimits(),
    now: datetime | None = None,
) -> InstalledPackage:
    archive = Path(archive)
    if not archive.is_file() or archive.is_symlink():
        raise ModelPackageError("the archive is not a regular file", code="not-a-file")
    if archive.stat().st_size > limits.max_archive_bytes:
        raise ModelPackageError("the archive is too large", code="archive-too-large")
    actual = sha256_file(archive)
    if expected_sha256 is not None and not hmac.compare_digest(
        actual.encode(), expected_sha256.strip().lower().encode()
    ):
        raise ModelPackageError("SHA-256 does not match the pin", code="hash-mismatch")
    if not zipfile.is_zipfile(archive):
        raise ModelPackageError("not a zip archive", code="not-a-zip")
    target_root = packages_dir(data_dir)
    target_root.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        top, members = _checked_members(zf, limits)
        metadata = _metadata(zf, top)
        name = f"translate-{metadata['from_code']}_{metadata['to_code']}-" + re.sub(
            r"[^0-9A-Za-z+-]", "_", metadata["package_version"]
        )
        destination = target_root / name
        if destination.exists():
            raise ModelPackageError(f"{name} is already installed", code="already-installed")
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=models_dir(data_dir)))
        try:
            package_root = staging / name
            manifest = _extract(zf, top, members, package_root, limits)
            record = {
                "archive_sha256": actual,
                "archive_name": archive.name,
                "installed_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
                "files": manifest,
            }
            (package_root / INSTALL_RECORD).write_text(json.dumps(record, indent=1))
            os.rename(package_root, destination)  # atomic: same filesystem
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _installed(destination)


def list_packages(data_dir: Path) -> list[InstalledPackage]:
    root = packages_dir(data_dir)
    if not root.is_dir():
        return []
    return [_installed(p) for p in sorted(root.iterdir()) if p.is_dir()]


def remove_package(data_dir: Path, name: str) -> None:
    if not _PACKAGE_NAME.match(name):
        raise ModelPackageError("not a package name", code="bad-name")
    path = packages_dir(data_dir) / name
    if not path.is_dir() or path.is_symlink():
        raise ModelPackageError(f"{name} is not installed", code="not-installed")
    trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=models_dir(data_dir)))
    os.rename(path, trash / name)  # disappears from packages/ in one step
    shutil.rmtree(trash, ignore_errors=True)


def verify_packages(data_dir: Path) -> list[VerifyProblem]:
    """Re-hash every installed file against the manifest recorded at install."""
    problems: list[VerifyProblem] = []
    root = packages_dir(data_dir)
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if not path.is_dir() or path.is_symlink():
            problems.append(VerifyProblem(path.name, "stray-entry", "not a package folder"))
            continue
        try:
            record = json.loads((path / INSTALL_RECORD).read_text())
            files: dict[str, str] = record["files"]
        except (OSError, ValueError, KeyError):
            problems.append(VerifyProblem(path.name, "no-install-record", INSTALL_RECORD))
            continue
        present = {
            p.relative_to(path).as_posix()
            for p in path.rglob("*")
            if p.is_file() and p.name != INSTALL_RECORD
        }
        for extra in sorted(present - set(files)):
            problems.append(VerifyProblem(path.name, "unexpected-file", extra))
        for relative, expected in sorted(files.items()):
            file = path / relative
            if not file.is_file():
                problems.append(VerifyProblem(path.name, "missing-file", relative))
            elif not hmac.compare_digest(sha256_file(file), expected):
                problems.append(VerifyProblem(path.name, "modified-file", relative))
    return problems


def _checked_members(
    zf: zipfile.ZipFile, limits: PackageLimits
) -> tuple[str, list[zipfile.ZipInfo]]:
    infos = zf.infolist()
    if not infos or len(infos) > limits.max_members:
        raise ModelPackageError("too many or no archive members", code="archive-too-large")
    tops: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        path = PurePosixPath(name)
        if (
            "\\" in name
            or "\x00" in name
            or path.is_absolute()
            or ".." in path.parts
            or re.match(r"^[A-Za-z]:", name)
        ):
            raise ModelPackageError("member path escapes the package", code="path-traversal")
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
            raise ModelPackageError("symlinks and special files are refused", code="symlink")
        if info.flag_bits & 0x1:
            raise ModelPackageError("encrypted members are refused", code="encrypted-member")
        tops.add(path.parts[0])
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise ModelPackageError("compression ratio too high", code="compression-bomb")
    if total > limits.max_uncompressed_bytes:
        raise ModelPackageError("uncompressed size too large", code="compression-bomb")
    if len(tops) != 1:
        raise ModelPackageError("the archive must hold one package folder", code="bad-layout")
    return tops.pop(), infos


def _metadata(zf: zipfile.ZipFile, top: str) -> dict[str, Any]:
    try:
        info = zf.getinfo(f"{top}/metadata.json")
    except KeyError:
        raise ModelPackageError("metadata.json is missing", code="bad-metadata") from None
    if info.file_size > _MAX_METADATA:
        raise ModelPackageError("metadata.json is too large", code="bad-metadata")
    try:
        metadata = json.loads(zf.read(info).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ModelPackageError("metadata.json is not JSON", code="bad-metadata") from None
    if not isinstance(metadata, dict):
        raise ModelPackageError("metadata.json must be an object", code="bad-metadata")
    for key, pattern in (("from_code", _LANG), ("to_code", _LANG), ("package_version", _VERSION)):
        value = metadata.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise ModelPackageError(f"metadata.json: bad or missing {key}", code="bad-metadata")
    if metadata.get("type", "translate") != "translate":
        raise ModelPackageError("only translate packages are accepted", code="bad-metadata")
    names = set(zf.namelist())
    if f"{top}/model/model.bin" not in names:
        raise ModelPackageError("model/model.bin is missing", code="bad-metadata")
    if not names & {f"{top}/sentencepiece.model", f"{top}/bpe.model"}:
        raise ModelPackageError("no tokenizer model in the package", code="bad-metadata")
    return metadata


def _extract(
    zf: zipfile.ZipFile,
    top: str,
    members: list[zipfile.ZipInfo],
    package_root: Path,
    limits: PackageLimits,
) -> dict[str, str]:
    package_root.mkdir()
    manifest: dict[str, str] = {}
    written = 0
    for info in members:
        relative = PurePosixPath(info.filename).relative_to(top)
        if info.is_dir() or not relative.parts:
            continue
        destination = package_root.joinpath(*relative.parts)
        if package_root.resolve() not in destination.resolve().parents:
            raise ModelPackageError("member path escapes the package", code="path-traversal")
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with zf.open(info) as source, destination.open("xb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                size += len(block)
                written += len(block)
                # Count real bytes: headers can lie about sizes.
                if size > info.file_size or written > limits.max_uncompressed_bytes:
                    raise ModelPackageError("archive inflates too far", code="compression-bomb")
                digest.update(block)
                sink.write(block)
        manifest[relative.as_posix()] = digest.hexdigest()
    return manifest


def _installed(path: Path) -> InstalledPackage:
    try:
        metadata = json.loads((path / "metadata.json").read_text())
        record = json.loads((path / INSTALL_RECORD).read_text())
    except (OSError, ValueError):
        return InstalledPackage(path.name, "", "", "", "", path)
    return InstalledPackage(
        name=path.name,
        from_code=str(metadata.get("from_code", "")),
        to_code=str(metadata.get("to_code", "")),
        package_version=str(metadata.get("package_version", "")),
        archive_sha256=str(record.get("archive_sha256", "")),
        path=path,
    )
