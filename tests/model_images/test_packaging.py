"""model_images/packaging.py: the model.tar.gz SageMaker expects, byte-for-byte reproducible."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from chorus.model_images.packaging import (
    FIXED_MTIME,
    archive_names,
    inference_code_dir,
    write_model_archive,
)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-model"
    (root / "1_Pooling").mkdir(parents=True)
    (root / "config.json").write_text('{"model_type": "bert"}')
    (root / "model.safetensors").write_bytes(os.urandom(4096))
    (root / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (root / ".gitattributes").write_text("*.safetensors filter=lfs")
    (root / ".cache").mkdir()
    (root / ".cache" / "download.lock").write_text("")
    return root


def test_archive_holds_model_files_at_the_root_and_the_inference_code_under_code(
    model_dir, tmp_path
):
    out = write_model_archive(model_dir, inference_code_dir("embedding"), tmp_path / "m.tar.gz")
    assert archive_names(out) == [
        "1_Pooling/config.json",
        "code/inference.py",
        "code/requirements.txt",
        "config.json",
        "model.safetensors",
    ]
    with tarfile.open(out, "r:gz") as tar:
        member = tar.extractfile("code/inference.py")
        assert member is not None
        assert member.read() == (inference_code_dir("embedding") / "inference.py").read_bytes()
        weights = tar.extractfile("model.safetensors")
        assert weights is not None
        assert weights.read() == (model_dir / "model.safetensors").read_bytes()


def test_each_kind_packages_its_own_inference_code(model_dir, tmp_path):
    out = write_model_archive(model_dir, inference_code_dir("cross-encoder"), tmp_path / "m.tar.gz")
    with tarfile.open(out, "r:gz") as tar:
        code = tar.extractfile("code/inference.py")
        assert code is not None
        assert b"AutoModelForSequenceClassification" in code.read()


def test_packaging_twice_gives_identical_bytes_whatever_the_file_times(model_dir, tmp_path):
    first = write_model_archive(model_dir, inference_code_dir("embedding"), tmp_path / "a.tar.gz")
    os.utime(model_dir / "config.json", (1_700_000_000, 1_700_000_000))
    second = write_model_archive(model_dir, inference_code_dir("embedding"), tmp_path / "b.tar.gz")
    assert first.read_bytes() == second.read_bytes()


def test_entries_carry_fixed_metadata_and_gzip_carries_no_time_or_name(model_dir, tmp_path):
    out = write_model_archive(model_dir, inference_code_dir("embedding"), tmp_path / "m.tar.gz")
    header = out.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip MTIME
    assert header[3] & 0x08 == 0  # no FNAME field
    with tarfile.open(out, "r:gz") as tar:
        for member in tar.getmembers():
            assert member.isfile()
            assert (member.mtime, member.mode, member.uid, member.gid) == (FIXED_MTIME, 0o644, 0, 0)
            assert (member.uname, member.gname) == ("", "")


def test_a_model_folder_with_its_own_code_folder_is_refused(model_dir, tmp_path):
    (model_dir / "code").mkdir()
    (model_dir / "code" / "inference.py").write_text("")
    with pytest.raises(ValueError, match="already has a code/ folder"):
        write_model_archive(model_dir, inference_code_dir("embedding"), tmp_path / "m.tar.gz")
    assert not (tmp_path / "m.tar.gz").exists()


def test_a_folder_that_is_not_a_hugging_face_model_is_refused(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"no config\.json"):
        write_model_archive(tmp_path / "notes", inference_code_dir("embedding"), tmp_path / "m.tgz")


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown model kind"):
        inference_code_dir("reranker")
