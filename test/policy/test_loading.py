"""Checkpoint loading with LeRobot 0.6's factories: what loads, and what each refusal says."""

from __future__ import annotations

import shutil

import pytest

from lerobot_ros.policy.loading import (
    CameraInput,
    PolicyLoadError,
    checkpoint_cameras,
    common_image_size,
    load_policy,
    shipped_policy_dir,
)


def test_the_shipped_checkpoint_loads_with_its_processors():
    loaded = load_policy(shipped_policy_dir())
    assert loaded.policy.config.type == "act"
    assert loaded.input_features == {"observation.state", "observation.environment_state"}
    assert loaded.preprocessor is not None and loaded.postprocessor is not None


def test_a_pre_processor_checkpoint_names_lerobots_migration_command(tmp_path):
    old = tmp_path / "old_act"
    old.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(shipped_policy_dir() / name, old / name)
    with pytest.raises(PolicyLoadError) as error:
        load_policy(old)
    message = str(error.value)
    assert "LeRobot < 0.4" in message
    assert f"migrate_policy_normalization --pretrained-path {old}" in message


def test_missing_weights_and_corrupt_weights_are_named(tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(shipped_policy_dir(), partial)
    (partial / "model.safetensors").unlink()
    with pytest.raises(PolicyLoadError, match=r"missing \['model.safetensors'\]"):
        load_policy(partial)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(shipped_policy_dir(), corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(PolicyLoadError, match="cannot load the policy in"):
        load_policy(corrupt)


def test_an_uncached_hub_id_is_refused_offline():
    with pytest.raises(PolicyLoadError, match="not in the local Hugging Face cache"):
        load_policy("nobody/no_such_policy_here")


def test_checkpoint_cameras_come_from_its_input_features(checkpoint_config):
    image = {"type": "VISUAL", "shape": [3, 96, 128]}
    path = checkpoint_config(
        {
            "observation.state": {"type": "STATE", "shape": [8]},
            "observation.images.wrist": image,
            "observation.images.front": image,
        },
    )
    cameras = checkpoint_cameras(path)
    assert cameras == (CameraInput("wrist", 96, 128), CameraInput("front", 96, 128))
    assert common_image_size(cameras) == (96, 128)
    assert checkpoint_cameras(shipped_policy_dir()) == ()
    assert common_image_size((CameraInput("a", 1, 2), CameraInput("b", 2, 2))) is None


def test_a_checkpoint_config_without_readable_inputs_is_named(checkpoint_config):
    path = checkpoint_config({"observation.images.front": {"type": "VISUAL", "shape": [96]}})
    with pytest.raises(PolicyLoadError, match="does not describe the policy's inputs"):
        checkpoint_cameras(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(PolicyLoadError, match="config.json"):
        checkpoint_cameras(path)
