"""Load any LeRobot policy checkpoint with LeRobot's own factories, offline.

A checkpoint is a directory (``config.json``, ``model.safetensors``, and the
``policy_preprocessor.json`` / ``policy_postprocessor.json`` pipelines saved by LeRobot's
training) or a Hugging Face Hub repo id already in the local cache: nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_ros.features.mapping import EMBEDDED_MAPPING_FILE, FeatureMapping, load_mapping
from lerobot_ros.resources import share_dir

SHIPPED_POLICY = "models/act_panda_pick_cube"
REQUIRED_FILES = ("config.json", "model.safetensors")
PROCESSOR_FILES = ("policy_preprocessor.json", "policy_postprocessor.json")
IMAGES_PREFIX = "observation.images."


class PolicyLoadError(RuntimeError):
    """The checkpoint cannot be used; the message says what is missing and where."""


def shipped_policy_dir() -> Path:
    """The policy trained and shipped by this project (see models/*/PROVENANCE.md)."""
    return share_dir() / SHIPPED_POLICY


def resolve_checkpoint(path_or_repo_id: str | os.PathLike) -> Path:
    """A local checkpoint directory for a path or a cached Hub repo id."""
    text = str(path_or_repo_id).strip()
    if not text:
        raise PolicyLoadError("no policy given: pass a checkpoint directory or a Hub repo id")
    path = Path(text).expanduser()
    looks_like_repo_id = (
        text.count("/") == 1 and not text.startswith((".", "/", "~")) and not path.exists()
    )
    if looks_like_repo_id:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            path = Path(snapshot_download(text, local_files_only=True))
        except (LocalEntryNotFoundError, FileNotFoundError, ValueError) as error:
            raise PolicyLoadError(
                f"policy {text!r} is not a directory and not in the local Hugging Face cache "
                f"(offline mode: nothing is downloaded): {error}"
            ) from None
    if not path.is_dir():
        raise PolicyLoadError(f"policy checkpoint directory not found: {path}")
    missing = [name for name in REQUIRED_FILES + PROCESSOR_FILES if not (path / name).is_file()]
    if set(missing) == set(PROCESSOR_FILES):
        # LeRobot < 0.4 kept normalization inside the model; 0.6 loads only migrated ones.
        raise PolicyLoadError(
            f"{path} is a checkpoint from LeRobot < 0.4 (normalization inside the model, no "
            f"{' / '.join(PROCESSOR_FILES)}). Migrate it with LeRobot's own tool and pass the "
            "new directory: python -m lerobot.processor.migrate_policy_normalization "
            f"--pretrained-path {path} --output-dir {path}_migrated"
        )
    if missing:
        raise PolicyLoadError(
            f"{path} is not a complete LeRobot policy checkpoint: missing {missing} (expected "
            f"the pretrained_model directory LeRobot's training saves)"
        )
    return path


@dataclass(frozen=True)
class CameraInput:
    """A camera a policy takes (``observation.images.<name>``) at the size it was trained on."""

    name: str
    height: int
    width: int


def checkpoint_cameras(path_or_repo_id: str | os.PathLike) -> tuple[CameraInput, ...]:
    """The cameras a checkpoint's input features name, from its config.json alone (cheap: no
    weights, no torch), in the checkpoint's order."""
    path = resolve_checkpoint(path_or_repo_id)
    try:
        features = json.loads((path / "config.json").read_text()).get("input_features") or {}
        cameras = []
        for key, feature in features.items():
            if key.startswith(IMAGES_PREFIX):
                _, height, width = (int(side) for side in feature["shape"])
                cameras.append(CameraInput(key[len(IMAGES_PREFIX) :], height, width))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise PolicyLoadError(
            f"{path / 'config.json'} does not describe the policy's inputs: "
            f"{type(error).__name__}: {error}"
        ) from None
    return tuple(cameras)


def common_image_size(cameras: tuple[CameraInput, ...]) -> tuple[int, int] | None:
    """(height, width) shared by every camera, or None (none, or sizes differ)."""
    sizes = {(camera.height, camera.width) for camera in cameras}
    return sizes.pop() if len(sizes) == 1 else None


def training_dataset_root(checkpoint: Path) -> Path | None:
    """The dataset a checkpoint was trained on, from the train_config.json LeRobot's training
    saves beside it (its root, else LeRobot's cache dir of its repo id); None if unknown."""
    try:
        dataset = json.loads((checkpoint / "train_config.json").read_text()).get("dataset") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if dataset.get("root"):
        return Path(dataset["root"]).expanduser()
    if dataset.get("repo_id"):
        from lerobot.utils.constants import HF_LEROBOT_HOME

        return HF_LEROBOT_HOME / dataset["repo_id"]
    return None


def trained_mapping_path(checkpoint: Path) -> Path | None:
    """The mapping file a checkpoint was trained with: beside it (lerobot-ros attach-mapping),
    else in the meta/ of its training dataset; None if neither exists."""
    beside = checkpoint / EMBEDDED_MAPPING_FILE
    if beside.is_file():
        return beside
    root = training_dataset_root(checkpoint)
    in_dataset = root / "meta" / EMBEDDED_MAPPING_FILE if root is not None else None
    return in_dataset if in_dataset is not None and in_dataset.is_file() else None


def trained_mapping(checkpoint: Path) -> FeatureMapping | None:
    """The feature mapping a checkpoint was trained with (MappingError if it is unreadable)."""
    path = trained_mapping_path(checkpoint)
    return None if path is None else load_mapping(path)


@dataclass
class LoadedPolicy:
    """A policy ready for ``select_action`` with its pre/post processors."""

    path: Path
    policy: Any  # lerobot PreTrainedPolicy
    preprocessor: Any  # PolicyProcessorPipeline
    postprocessor: Any

    @property
    def input_features(self) -> set[str]:
        return set(self.policy.config.input_features)

    @property
    def fps_hint(self) -> int | None:
        return getattr(self.policy.config, "fps", None)


def load_policy(path_or_repo_id: str | os.PathLike, device: str = "cpu") -> LoadedPolicy:
    """Load config, weights and processors; PolicyLoadError on any problem."""
    path = resolve_checkpoint(path_or_repo_id)
    try:
        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors

        config = PreTrainedConfig.from_pretrained(path, local_files_only=True)
        config.device = device
        config.pretrained_path = path
        policy = get_policy_class(config.type).from_pretrained(
            path, config=config, local_files_only=True
        )
        policy.eval()
        preprocessor, postprocessor = make_pre_post_processors(
            config,
            pretrained_path=str(path),
            preprocessor_overrides={"device_processor": {"device": device}},
        )
    except PolicyLoadError:
        raise
    except Exception as error:  # a corrupt or incompatible checkpoint: say which
        raise PolicyLoadError(
            f"cannot load the policy in {path}: {type(error).__name__}: {error}"
        ) from error
    return LoadedPolicy(path, policy, preprocessor, postprocessor)
