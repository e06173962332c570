"""Checkpoint loading with LeRobot 0.6's factories: what loads, and what each refusal says."""

from __future__ import annotations

import json
import shutil

import pytest

from lerobot_ros.policy.loading import (
    CameraInput,
    PolicyLoadError,
    checkpoint_cameras,
    common_image_size,
    load_policy,
    shipped_policy_dir,
    trained_mapping,
    trained_mapping_path,
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


def test_the_trained_mapping_is_found_beside_the_checkpoint_or_in_its_dataset(
    checkpoint_config, tmp_path
):
    from lerobot_ros.features.mapping import EMBEDDED_MAPPING_FILE, load_mapping, save_mapping
    from lerobot_ros.resources import config_path

    checkpoint = checkpoint_config({})
    assert trained_mapping_path(checkpoint) is None  # no train_config.json, nothing beside
    mapping = load_mapping(config_path("features/panda_pick_cube.yaml"))
    dataset = tmp_path / "dataset"
    (dataset / "meta").mkdir(parents=True)
    save_mapping(mapping, dataset / "meta" / EMBEDDED_MAPPING_FILE)
    train_config = {"dataset": {"repo_id": "user/data", "root": str(dataset)}}
    (checkpoint / "train_config.json").write_text(json.dumps(train_config))
    assert trained_mapping_path(checkpoint) == dataset / "meta" / EMBEDDED_MAPPING_FILE
    assert trained_mapping(checkpoint).state == mapping.state
    save_mapping(mapping, checkpoint / EMBEDDED_MAPPING_FILE)
    assert trained_mapping_path(checkpoint) == checkpoint / EMBEDDED_MAPPING_FILE
    (checkpoint / "train_config.json").write_text("{not json")  # unreadable: not a source
    (checkpoint / EMBEDDED_MAPPING_FILE).unlink()
    assert trained_mapping_path(checkpoint) is None
