"""Train stable-baselines3 PPO on a small embodied task from pixels, and plot its learning curve.

    pip install -e '.[rl]'            # stable-baselines3; CPU torch: see docs/rl.md
    python examples/train_ppo.py --timesteps 10000 --out ppo_out

The task: one room, the exit door on the north wall stands open 1.5 m from the agent, which faces
north, east, south or west (drawn anew each episode, so it must look before it turns) and must
leave through the exit within 40 steps; the reward is 1 on success plus a shaping term for getting
closer to the exit (potential-based: 0.2 x the decrease in distance, so it cannot be farmed). Observations are 64x64 RGB images
(``obs_mode="image"``), actions a fixed ``Discrete(n)`` table (``action_mode="discrete"``:
navigation, Open/Close(exit), Done). The random agent's success rate is measured first, then PPO
trains; ``ppo_out/learning_curve.png`` shows the success rate of training episodes against
timesteps beside the random agent's, and ``ppo_out/result.json`` the figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time

import numpy as np

EXIT_ROOM = {
    "format": "embodied.scene/1",
    "name": "rl_exit_room",
    "seed": 0,
    "description": "One room; the exit stands open behind the agent.",
    "rooms": [{"id": "hall", "size": [4, 3], "at": [0, 0]}],
    "doors": [{"id": "exit", "between": ["hall", "outside"], "wall": "north", "open": True}],
    "objects": [],
    "agents": [{"id": "a0", "room": "hall", "at": [2.0, 1.5], "yaw": 0}],
    "goal": {"exit_through": "exit"},
    "max_steps": 40,
}


def exit_task():
    from embodied.tasks import Task

    class ExitRoom(Task):
        def __init__(self):
            super().__init__()
            self.last: dict[int, float] = {}

        def build(self, rng):  # the agent faces north, east, south or west: it must look to decide
            agent = {**EXIT_ROOM["agents"][0], "yaw": rng.choice((0, 90, 180, 270))}
            return {**EXIT_ROOM, "agents": [agent]}

        def reward(self, env, agent, info, default):
            d = env.world.distance(agent, "exit")
            prev = self.last.get(id(env), d) if info["step"] > 1 else d
            self.last[id(env)] = d
            return default + 0.2 * (prev - d)

    return ExitRoom()


def make_env(size: int = 64, seed: int = 0):
    import gymnasium as gym

    from embodied.adapters.gym import EmbodiedGymEnv

    class NewStartEachEpisode(gym.Wrapper):
        """Reset with a fresh seed every episode (the task draws the start heading from it)."""

        def __init__(self, env):
            super().__init__(env)
            self.episode = seed * 1_000_003

        def reset(self, *, seed=None, options=None):
            self.episode += 1
            return self.env.reset(seed=self.episode if seed is None else seed, options=options)

    env = EmbodiedGymEnv(exit_task(), width=size, height=size, action_mode="discrete", obs_mode="image")
    return NewStartEachEpisode(env)


def random_success(episodes: int, seed: int = 0) -> float:
    env = make_env(seed=seed + 1)
    env.action_space.seed(seed)
    wins = 0
    try:
        for _ in range(episodes):
            env.reset()
            while True:
                _, _, term, trunc, info = env.step(env.action_space.sample())
                if term or trunc:
                    wins += bool(info["success"])
                    break
    finally:
        env.close()
    return wins / episodes


def train(timesteps: int, out: str, seed: int = 0, random_episodes: int = 100) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()
    base = random_success(random_episodes, seed)
    env = Monitor(make_env(seed=seed), os.path.join(out, "monitor"), info_keywords=("success",))
    try:
        model = PPO(
            "CnnPolicy",
            env,
            n_steps=256,
            batch_size=64,
            n_epochs=4,
            learning_rate=5e-4,
            ent_coef=0.01,
            gamma=0.95,
            seed=seed,
            device="cpu",
            verbose=0,
        )
        model.learn(total_timesteps=timesteps)
        ep_success = [float(x) for x in _monitor_column(env, "success")]
        ep_steps = np.cumsum(env.get_episode_lengths()).tolist()
    finally:
        env.close()
    tail = max(1, len(ep_success) // 5)
    result = {
        "timesteps": timesteps,
        "episodes": len(ep_success),
        "random_success": base,
        "first_fifth_success": float(np.mean(ep_success[:tail])) if ep_success else 0.0,
        "last_fifth_success": float(np.mean(ep_success[-tail:])) if ep_success else 0.0,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    plot(ep_steps, ep_success, base, os.path.join(out, "learning_curve.png"), timesteps)
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


def _monitor_column(env, key: str) -> list:
    """Per-episode values of an ``info_keywords`` column, read back from the Monitor's CSV."""
    env.results_writer.file_handler.flush()
    path = env.results_writer.file_handler.name
    import csv

    with open(path) as f:
        next(f)  # the JSON comment line
        return [r[key] == "True" for r in csv.DictReader(f)]


def plot(steps: list, success: list, base: float, path: str, timesteps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = 20
    s = np.asarray(success, float)
    rolling = [s[max(0, i - window + 1) : i + 1].mean() for i in range(len(s))]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.plot(steps, rolling, label=f"PPO, success over the last {window} training episodes")
    ax.axhline(base, color="gray", linestyle="--", label=f"random agent ({base:.0%})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, timesteps)
    ax.set_title("PPO (stable-baselines3, CPU) on rl_exit_room, 64x64 pixels")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    from embodied.cli import Parser, int_in  # one-line usage errors

    p = Parser(prog="train_ppo.py", description=__doc__.splitlines()[0])
    p.add_argument(
        "--timesteps", type=int_in(1), default=10000, help="PPO environment steps (default: %(default)s)"
    )
    p.add_argument(
        "--out",
        default="ppo_out",
        help="directory for learning_curve.png and result.json (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="training seed (default: %(default)s)")
    args = p.parse_args()
    missing = [m for m in ("torch", "stable_baselines3", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:  # the [rl] extra is optional: one line on what to install, not a traceback
        print(
            f"train_ppo.py: error: {', '.join(missing)} not installed; install the CPU torch build and the "
            "[rl] extra: pip install torch --index-url https://download.pytorch.org/whl/cpu && "
            "pip install -e '.[rl]' (see docs/rl.md)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    print(json.dumps(train(args.timesteps, args.out, args.seed), indent=2))


if __name__ == "__main__":
    main()
