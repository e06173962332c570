"""A few steps of LeRobot's own training loop on a small ACT, for tests that need a policy
trained on a dataset they recorded (offline: no pretrained backbone)."""

from __future__ import annotations

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
