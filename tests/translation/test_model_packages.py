"""`.argosmodel` install: pinned hash, hostile archives refused, nothing written outside temp."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.translation.model_packages import (
    ModelPackageError,
    PackageLimits,
    install_package,
    list_packages,
    packages_dir,
    remove_package,
    verify_packages,
)
from gateway.web.cli_models import models

METADATA = {"package_version": "1.0", "from_code": "en", "to_code": "es", "type": "translate"}


def _zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def _valid_members(top: str = "pkg") -> dict[str, bytes]:
    return {
        f"{top}/metadata.json": json.dumps(METADATA).encode(),
        f"{top}/model/model.bin": b"\0" * 64,
        f"{top}/sentencepiece.model": b"sp",
    }


def _snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


HOSTILE = {
    "zip-slip": ({"pkg/../../evil.txt": b"x", **_valid_members()}, "path-traversal"),
    "absolute": ({"/tmp/evil.txt": b"x", **_valid_members()}, "path-traversal"),
    "no-metadata": ({"pkg/model/model.bin": b"x", "pkg/sentencepiece.model": b"s"}, "bad-metadata"),
    "bad-metadata": (
        {**_valid_members(), "pkg/metadata.json": b'{"from_code": "../x", "to_code": "es"}'},
        "bad-metadata",
    ),
    "metadata-not-json": ({**_valid_members(), "pkg/metadata.json": b"\xff{"}, "bad-metadata"),
    "no-model": ({"pkg/metadata.json": json.dumps(METADATA).encode()}, "bad-metadata"),
    "two-folders": ({**_valid_members(), "other/x": b"x"}, "bad-layout"),
    "bomb": ({**_valid_members(), "pkg/zeros.bin": b"\0" * (8 * 1024 * 1024)}, "compression-bomb"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused_and_leaves_nothing_behind(tmp_path: Path, case: str) -> None:
    members, code = HOSTILE[case]
    archive = _zip(tmp_path / "hostile.argosmodel", members)
    data_dir = tmp_path / "data"
    before = _snapshot(tmp_path)
    with pytest.raises(ModelPackageError) as error:
        install_package(data_dir, archive, limits=PackageLimits(max_compression_ratio=50))
    assert error.value.code == code
    after = _snapshot(tmp_path) - before
    # At most the empty models/packages folders exist; no staging or extracted file survives.
    assert after <= {"data", "data/models", "data/models/packages"}
    assert not (tmp_path.parent / "evil.txt").exists()


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "link.argosmodel", _valid_members(), symlink="pkg/link")
    with pytest.raises(ModelPackageError) as error:
        install_package(tmp_path / "data", archive)
    assert error.value.code == "symlink"
    assert list(packages_dir(tmp_path / "data").iterdir()) == []


def test_wrong_pin_is_refused_before_the_archive_is_opened(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "ok.argosmodel", _valid_members())
    with pytest.raises(ModelPackageError) as error:
        install_package(tmp_path / "data", archive, expected_sha256="0" * 64)
    assert error.value.code == "hash-mismatch"
    assert not (tmp_path / "data").exists()


def test_install_list_verify_remove_round_trip(
    tmp_path: Path, tiny_packages: dict[str, Path]
) -> None:
    archive = tiny_packages["en_es"]
    pin = hashlib.sha256(archive.read_bytes()).hexdigest()
    data_dir = tmp_path / "data"
    package = install_package(data_dir, archive, expected_sha256=pin.upper())
    assert package.name == "translate-en_es-1_0"
    assert package.archive_sha256 == pin
    assert (package.path / "metadata.json").is_file()
    assert [p.name for p in list_packages(data_dir)] == [package.name]
    assert verify_packages(data_dir) == []
    (package.path / "sentencepiece.model").write_bytes(b"tampered")
    assert [p.code for p in verify_packages(data_dir)] == ["modified-file"]
    with pytest.raises(ModelPackageError) as error:
        install_package(data_dir, archive)
    assert error.value.code == "already-installed"
    remove_package(data_dir, package.name)
    assert list_packages(data_dir) == []
    assert [p.name for p in (data_dir / "models").iterdir()] == ["packages"]


def test_cli_installs_lists_verifies_and_removes(
    tmp_path: Path, tiny_packages: dict[str, Path]
) -> None:
    runner = CliRunner()
    env = {"ROGATORY_DATA_DIR": str(tmp_path / "data")}
    archive = tiny_packages["nl_en"]
    pin = hashlib.sha256(archive.read_bytes()).hexdigest()
    bad = runner.invoke(models, ["install", str(archive), "--sha256", "ab" * 32], env=env)
    assert bad.exit_code == 2
    assert "hash-mismatch" in bad.output
    ok = runner.invoke(models, ["install", str(archive), "--sha256", pin], env=env)
    assert ok.exit_code == 0, ok.output
    assert f"sha256={pin}" in ok.output
    listed = runner.invoke(models, ["list"], env=env)
    assert "translate-nl_en-1_0\tnl->en\t1.0" in listed.output
    assert runner.invoke(models, ["verify"], env=env).exit_code == 0
    removed = runner.invoke(models, ["remove", "translate-nl_en-1_0"], env=env)
    assert removed.exit_code == 0
    assert runner.invoke(models, ["remove", "../../etc"], env=env).exit_code == 2


def test_rogatory_cli_runs_models_group_with_its_data_dir(
    tmp_path: Path, tiny_packages: dict[str, Path]
) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [sys.executable, "-c", "from gateway.web.cli import main; main()"]
    data_dir = str(tmp_path / "var")
    archive = str(tiny_packages["en_es"])
    installed = subprocess.run(
        [*run, "--data-dir", data_dir, "models", "install", archive],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr.decode()[-1500:]
    assert (tmp_path / "var" / "models" / "packages" / "translate-en_es-1_0").is_dir()
    listed = subprocess.run(
        [*run, "--data-dir", data_dir, "models", "list"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert "translate-en_es-1_0" in listed.stdout.decode()


def test_build_test_model_writes_an_installable_random_weight_package(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [sys.executable, "-c", "from gateway.web.cli import main; main()"]
    data_dir = str(tmp_path / "var")
    out = tmp_path / "en_es.argosmodel"
    pair = ["--from", "en", "--to", "es"]
    built = subprocess.run(
        [*run, "--data-dir", data_dir, "models", "build-test-model", str(out), *pair],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-1500:]
    assert "RANDOM WEIGHTS" in built.stdout
    package = install_package(tmp_path / "var", out)
    assert (package.from_code, package.to_code) == ("en", "es")
    with zipfile.ZipFile(out) as zf:
        assert "random weights" in zf.read(f"{package.name}/README.md").decode().lower()
