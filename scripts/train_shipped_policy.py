"""Reproduce the shipped policy ``models/act_panda_pick_cube`` end to end, on CPU.

1. Record expert demonstrations in-process (``ScriptedPickExpert`` driving the Gymnasium env,
   no rendering) into a LeRobotDataset v3 with LeRobot's own writer. State-only features, taken
   from the feature mapping so names and shapes are what the ROS policy node builds.
   Demonstration seeds start at 1000, disjoint from the evaluation seeds 0..49.
2. Train a small ACT on it with LeRobot's training loop (``lerobot_train.train``).
3. Copy the final ``pretrained_model`` to ``models/act_panda_pick_cube/``, evaluate it
   in-process on seeds 0..49 and write ``PROVENANCE.md`` next to it.

Work files (dataset, training outputs) go under ``build/shipped_policy/`` (git-ignored).

    MUJOCO_GL=egl HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled \\
        taskset -c 1 .venv/bin/python scripts/train_shipped_policy.py
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

# Offline, headless and single-threaded before torch / mujoco / lerobot load.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_MININTERVAL", "30")  # LeRobot's progress bars: a line per 30 s

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MAPPING = REPO / "config" / "features" / "panda_pick_cube.yaml"
DATASET_REPO_ID = "lerobot_ros/panda_pick_cube_expert"
INPUT_KEYS = {"observation.state", "observation.environment_state"}
EVAL_SEEDS = range(0, 50)


def record_demonstrations(
    root: Path, first_seed: int, episodes: int, frames_after_success: int
) -> dict:
    """Expert episodes into a LeRobotDataset at ``root``; returns a summary for PROVENANCE."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from lerobot_ros.features.mapping import load_mapping
    from lerobot_ros.sim.expert import ScriptedPickExpert
    from lerobot_ros.sim.gym_env import TASK, FrankaPickCubeEnv

    mapping = load_mapping(MAPPING).restricted_to(INPUT_KEYS)
    features = mapping.lerobot_features()
    dataset = LeRobotDataset.create(
        repo_id=DATASET_REPO_ID,
        fps=int(mapping.fps),
        features=features,
        root=root,
        robot_type="panda",
        use_videos=False,
    )
    env = FrankaPickCubeEnv(cameras=())
    expert = ScriptedPickExpert(control_hz=env.metadata["render_fps"])
    lengths, skipped = [], []
    seed = first_seed
    while len(lengths) < episodes:
        observation, _ = env.reset(seed=seed)
        expert.reset()
        successful_at = None
        frames = 0
        for step in range(env.max_episode_steps):
            position, quaternion = env.sim.cube_pose()
            # The expert gets the float64 measurements; the dataset stores the float32 env
            # observation the policy will see (in-process and over ROS alike).
            action = expert.act(env.sim.joint_positions(), position, quaternion)
            dataset.add_frame(
                {
                    "observation.state": observation["agent_pos"],
                    "observation.environment_state": observation["environment_state"],
                    "action": action.astype(np.float32),
                    "task": TASK,
                }
            )
            frames += 1
            observation, _, _, _, info = env.step(action.astype(np.float32))
            if info["is_success"] and successful_at is None:
                successful_at = step
            # A few frames past success teach the policy to keep holding, no more: long
            # holding tails would dominate the data.
            if successful_at is not None and step >= successful_at + frames_after_success:
                break
        if successful_at is None:  # the expert solves every seed so far; keep data clean anyway
            dataset.clear_episode_buffer()
            skipped.append(seed)
        else:
            lengths.append(frames)
            dataset.save_episode()
        seed += 1
    dataset.finalize()
    env.close()
    return {
        "seeds": f"{first_seed}..{seed - 1}",
        "episodes": len(lengths),
        "frames": int(sum(lengths)),
        "episode_length_mean": float(np.mean(lengths)),
        "episode_length_max": int(max(lengths)),
        "skipped_seeds": skipped,
    }


def act_config(args: argparse.Namespace) -> object:
    """A small state-only ACT: no vision backbone (no image inputs), a few MB of weights."""
    from lerobot.configs.types import NormalizationMode
    from lerobot.policies.act.configuration_act import ACTConfig

    return ACTConfig(
        device="cpu",
        push_to_hub=False,
        pretrained_backbone_weights=None,  # never downloads; unused without images anyway
        chunk_size=args.chunk_size,
        n_action_steps=args.n_action_steps,
        dim_model=args.dim_model,
        n_heads=4,
        dim_feedforward=4 * args.dim_model,
        n_encoder_layers=args.encoder_layers,
        n_decoder_layers=1,
        # The expert is deterministic given its inputs: no VAE latent to model (also halves
        # the compute per step).
        use_vae=False,
        dropout=0.1,
        # The cube pose (ENV features) would not be normalised by ACT's default mapping; its
        # position spans only 0.25 x 0.4 m, so standardise it like the joint state.
        normalization_mapping={
            "VISUAL": NormalizationMode.MEAN_STD,
            "STATE": NormalizationMode.MEAN_STD,
            "ENV": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.MEAN_STD,
        },
        optimizer_lr=args.lr,
        optimizer_weight_decay=1e-4,
    )


def train_policy(dataset_root: Path, output_dir: Path, args: argparse.Namespace) -> Path:
    """LeRobot's training loop on the recorded dataset; returns the final pretrained_model."""
    from lerobot.configs.default import DatasetConfig, WandBConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.optim.optimizers import AdamWConfig
    from lerobot.optim.schedulers import CosineDecayWithWarmupSchedulerConfig
    from lerobot.scripts.lerobot_train import train

    config = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=DATASET_REPO_ID, root=str(dataset_root)),
        policy=act_config(args),
        output_dir=output_dir,
        job_name="act_panda_pick_cube",
        seed=args.seed,
        num_workers=0,
        batch_size=args.batch_size,
        steps=args.steps,
        env_eval_freq=0,  # evaluated after training, in-process, on seeds 0..49
        log_freq=250,
        save_freq=args.steps,
        use_policy_training_preset=False,
        optimizer=AdamWConfig(lr=args.lr, weight_decay=1e-4, grad_clip_norm=10.0),
        # Warm-up then cosine decay to lr/10: a short run still ends on small steps.
        scheduler=CosineDecayWithWarmupSchedulerConfig(
            num_warmup_steps=min(500, args.steps // 10),
            num_decay_steps=args.steps,
            peak_lr=args.lr,
            decay_lr=args.lr / 10,
        ),
        wandb=WandBConfig(enable=False),
    )
    train(config)
    return output_dir / "checkpoints" / "last" / "pretrained_model"


def ship(pretrained_model: Path, destination: Path) -> list[str]:
    """Copy the checkpoint files the policy loader needs (no training state) into the repo."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    names = []
    for path in sorted(pretrained_model.iterdir()):
        if path.name == "train_config.json":  # machine-specific paths; PROVENANCE says it all
            continue
        shutil.copy2(path, destination / path.name)
        names.append(path.name)
    return names


def write_provenance(destination: Path, facts: dict) -> None:
    import lerobot
    import torch

    outcomes = facts["outcomes"]
    summary = facts["summary"]
    failed = [outcome.seed for outcome in outcomes if not outcome.success]
    files = "\n".join(
        f"- `{name}` ({(destination / name).stat().st_size / 1e3:.0f} kB)"
        for name in facts["files"]
    )
    demo = facts["dataset"]
    args = facts["args"]
    text = f"""# act_panda_pick_cube: provenance

A state-only ACT policy for the MuJoCo pick-and-lift-cube task (`lerobot_ros/FrankaPickCube-v0`,
Franka Panda, 30 Hz), made by this project with LeRobot's own dataset writer, training loop and
evaluation rollout. Nothing was downloaded.

- inputs: `observation.state` (8 joint positions: `panda_joint1..7`, `panda_finger_joint1`) and
  `observation.environment_state` (cube pose: x, y, z, qw, qx, qy, qz, world frame), both
  normalised with the dataset's mean/std
- output: `action`, 8 absolute joint position targets (same order)
- task: the sim's defaults (`SimConfig`): cube x 0.40..0.65 m, y -0.20..0.20 m, yaw
  -45..45 degrees (a quarter turn covers every cube pose), 300 steps per episode at most
- ACT without VAE and without vision backbone: dim_model {args.dim_model}, \
{args.encoder_layers} encoder layers, 1 decoder layer, chunk_size {args.chunk_size}, \
n_action_steps {args.n_action_steps}, no temporal ensembling; {facts["parameters"]:,} parameters

## How it was made

From the repository root (`build/shipped_policy/` holds the dataset and training outputs):

```bash
{facts["command"]}
```

1. Demonstrations: `ScriptedPickExpert` in the Gymnasium env (no rendering), seeds \
{demo["seeds"]}: {demo["episodes"]} episodes, {demo["frames"]} frames at 30 Hz (episode length \
mean {demo["episode_length_mean"]:.1f}, max {demo["episode_length_max"]}), each recorded until \
{args.frames_after_success} frames after success. Written with `LeRobotDataset.create`, \
`add_frame`, `save_episode`, `finalize` (LeRobotDataset v3, no videos). Seeds skipped because \
the expert failed: {demo["skipped_seeds"] or "none"}. The evaluation seeds 0..49 are disjoint.
2. Training: `lerobot.scripts.lerobot_train.train`, {args.steps} steps, batch {args.batch_size}, \
AdamW lr {args.lr} (warm-up, cosine decay to lr/10), weight decay 1e-4, seed {args.seed}, CPU, \
one thread, num_workers 0: {facts["train_s"] / 60:.1f} min wall.
3. Files: LeRobot's final `pretrained_model` directory without `train_config.json`:
{files}

Versions: lerobot {lerobot.__version__}, torch {torch.__version__}, Python \
{platform.python_version()}, {platform.machine()}.

## In-process evaluation

`python -m lerobot_ros.evaluation.in_process --policy models/act_panda_pick_cube --seeds 0-49`
(LeRobot's `lerobot_eval.rollout`, one seeded episode per env, max_episode_steps 300):

- pc_success **{summary["pc_success"]:.0f}%** over seeds 0..49 (failed: {failed or "none"})
- steps to done: mean {summary["steps_mean"]:.1f}, median {summary["steps_median"]}, \
max {summary["steps_max"]}
- avg_sum_reward {summary["avg_sum_reward"]:.2f}, avg_max_reward {summary["avg_max_reward"]:.3f}
- wall time {summary["eval_s_per_episode"]:.2f} s per episode (CPU, one thread)
"""
    (destination / "PROVENANCE.md").write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, default=REPO / "build" / "shipped_policy")
    parser.add_argument("--destination", type=Path, default=REPO / "models" / "act_panda_pick_cube")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--frames-after-success", type=int, default=10)
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--chunk-size", type=int, default=20)
    parser.add_argument("--n-action-steps", type=int, default=10)
    parser.add_argument("--dim-model", type=int, default=128)
    parser.add_argument("--encoder-layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument(
        "--reuse-dataset", action="store_true", help="keep an already recorded dataset"
    )
    args = parser.parse_args(argv)
    if args.first_seed < max(EVAL_SEEDS) + 1:
        parser.error(f"demonstration seeds must not overlap the evaluation seeds {EVAL_SEEDS}")

    import torch

    torch.set_num_threads(1)
    command = " ".join(
        [
            "MUJOCO_GL=egl HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled",
            "taskset -c 1 .venv/bin/python scripts/train_shipped_policy.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    dataset_root = args.work_dir / "dataset"
    output_dir = args.work_dir / "train"

    if args.reuse_dataset and (dataset_root / "meta" / "info.json").is_file():
        import json

        info = json.loads((dataset_root / "meta" / "info.json").read_text())
        dataset_summary = {
            "seeds": f"{args.first_seed}..",
            "episodes": info["total_episodes"],
            "frames": info["total_frames"],
            "episode_length_mean": info["total_frames"] / info["total_episodes"],
            "episode_length_max": -1,
            "skipped_seeds": [],
        }
    else:
        if dataset_root.exists():
            shutil.rmtree(dataset_root)
        start = time.perf_counter()
        dataset_summary = record_demonstrations(
            dataset_root, args.first_seed, args.episodes, args.frames_after_success
        )
        print(f"recorded {dataset_summary} in {time.perf_counter() - start:.0f} s", flush=True)

    if output_dir.exists():
        shutil.rmtree(output_dir)
    start = time.perf_counter()
    pretrained_model = train_policy(dataset_root, output_dir, args)
    train_s = time.perf_counter() - start
    files = ship(pretrained_model, args.destination)

    from lerobot_ros.evaluation.in_process import evaluate_in_process, summarize
    from lerobot_ros.policy.loading import load_policy

    loaded = load_policy(args.destination)
    outcomes = evaluate_in_process(loaded, list(EVAL_SEEDS))
    summary = summarize(outcomes)
    print(f"in-process evaluation on seeds 0..49: {summary}", flush=True)
    write_provenance(
        args.destination,
        {
            "command": command,
            "dataset": dataset_summary,
            "args": args,
            "train_s": train_s,
            "files": files,
            "parameters": sum(p.numel() for p in loaded.policy.parameters()),
            "outcomes": outcomes,
            "summary": summary,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
