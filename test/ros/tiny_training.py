"""A few steps of LeRobot's own training loop on a small ACT, for tests that need a policy
trained on a dataset they recorded (offline: no pretrained backbone)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def train_tiny_act(dataset_root: Path, repo_id: str, output: Path, steps: int = 2) -> Path:
    """Train with ``lerobot.scripts.lerobot_train.train``; returns the pretrained_model dir."""
    from lerobot.configs.default import DatasetConfig, WandBConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.scripts.lerobot_train import train

    policy = ACTConfig(
        device="cpu",
        push_to_hub=False,
        pretrained_backbone_weights=None,  # offline: no ImageNet download
        chunk_size=10,
        n_action_steps=10,
        dim_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_decoder_layers=1,
        use_vae=False,
    )
    config = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=repo_id, root=str(dataset_root)),
        policy=policy,
        output_dir=output,
        job_name="tiny_act",
        num_workers=0,
        batch_size=2,
        steps=steps,
        env_eval_freq=0,
        log_freq=1,
        save_freq=steps,
        use_policy_training_preset=True,  # ACT's own optimizer settings
        wandb=WandBConfig(enable=False),
    )
    train(config)
    return output / "checkpoints" / "last" / "pretrained_model"


def untrained_act(
    path: Path,
    cameras: tuple[str, ...] = ("front", "wrist"),
    image_size: tuple[int, int] = (224, 224),
    chunk_size: int = 30,
    n_joints: int = 8,
    environment_state: bool = False,
    action_mean: Sequence[float] | None = None,
    action_std: float = 1.0,
) -> Path:
    """An untrained ACT (ResNet18 from scratch) taking the state of ``n_joints`` joints,
    ``cameras`` and optionally the cube's pose, commanding those joints; saved with its
    processors as LeRobot's training saves a checkpoint; made once per path. Its actions are
    ``action_mean`` (default 0) give or take about ``action_std``: a small std makes a policy
    that heads for a known pose."""
    if (path / "model.safetensors").is_file():
        return path
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    torch.manual_seed(0)
    image = PolicyFeature(type=FeatureType.VISUAL, shape=(3, *image_size))
    image_keys = [f"observation.images.{camera}" for camera in cameras]
    inputs = {
        "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(n_joints,)),
        **dict.fromkeys(image_keys, image),
    }
    if environment_state:
        inputs["observation.environment_state"] = PolicyFeature(type=FeatureType.ENV, shape=(7,))
    config = ACTConfig(
        input_features=inputs,
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(n_joints,))},
        pretrained_backbone_weights=None,
        use_vae=False,
        chunk_size=chunk_size,
        n_action_steps=chunk_size,
        device="cpu",
    )
    pixel_stats = {"mean": torch.full((3, 1, 1), 0.5), "std": torch.full((3, 1, 1), 0.25)}
    stats = {
        "observation.state": {"mean": torch.zeros(n_joints), "std": torch.ones(n_joints)},
        "action": {
            "mean": torch.zeros(n_joints) if action_mean is None else torch.tensor(action_mean),
            "std": torch.full((n_joints,), action_std),
        },
        **dict.fromkeys(image_keys, pixel_stats),
    }
    if environment_state:
        stats["observation.environment_state"] = {"mean": torch.zeros(7), "std": torch.ones(7)}
    policy = ACTPolicy(config)
    preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=stats)
    for part in (policy, preprocessor, postprocessor):
        part.save_pretrained(path)
    return path


def untrained_diffusion(path: Path) -> Path:
    """An untrained, small Diffusion policy on the arm's state and the cube's pose: it samples
    noise at every chunk, so only seeding makes two runs of an episode alike."""
    if (path / "model.safetensors").is_file():
        return path
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy
    from lerobot.policies.factory import make_pre_post_processors

    torch.manual_seed(0)
    config = DiffusionConfig(
        input_features={
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(8,)),
            "observation.environment_state": PolicyFeature(type=FeatureType.ENV, shape=(7,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(8,))},
        pretrained_backbone_weights=None,
        horizon=8,
        n_action_steps=4,
        down_dims=(32, 64),
        diffusion_step_embed_dim=16,
        num_inference_steps=4,
        device="cpu",
    )
    bounds = {"min": torch.full((8,), -1.0), "max": torch.full((8,), 1.0)}
    stats = {"observation.state": bounds, "action": bounds}
    policy = DiffusionPolicy(config)
    preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=stats)
    for part in (policy, preprocessor, postprocessor):
        part.save_pretrained(path)
    return path


def attach_mapping(checkpoint: Path, *arguments: str) -> str:
    """``lerobot-ros attach-mapping CHECKPOINT ...`` as a user runs it; returns its output."""
    done = subprocess.run(
        [sys.executable, "-m", "lerobot_ros.orchestration.cli", "attach-mapping", str(checkpoint)]
        + list(arguments),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
