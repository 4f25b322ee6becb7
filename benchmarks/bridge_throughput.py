"""env.step steps/s through each bridge, side by side in one run (alternating rounds).

    python benchmarks/bridge_throughput.py [--size 224] [--rounds 5] [--steps 200]

Every engine renders the same scene from the same poses with the embedded renderer behind it:
``panda3d`` (ZeroMQ engine protocol), ``unreal`` (the UnrealCV protocol, genuine ``unrealcv``
client), ``unity`` (ML-Agents 1.5.0 over gRPC, genuine ``mlagents_envs`` client, PNG frames).
So the differences are the transports and encodings. Prints the median steps/s per engine and its
ratio to panda3d. On a shared machine only the ratios mean anything.
"""

from __future__ import annotations

import argparse
import statistics
import time

from embodied.env import Env

ACTIONS = ["RotateLeft", "RotateLeft", "MoveAhead", "RotateRight", "MoveBack", "LookDown", "LookUp"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--scene", default="chest_split_code")
    p.add_argument("--engines", default="panda3d,unreal,unity")
    args = p.parse_args()
    engines = args.engines.split(",")
    envs = {e: Env(args.scene, engine=e, width=args.size, height=args.size) for e in engines}
    rates: dict[str, list[float]] = {e: [] for e in engines}
    try:
        for env in envs.values():
            env.reset()
            for a in ACTIONS:  # warm up
                env.step(a)
        for _ in range(args.rounds):
            for e, env in envs.items():
                env.reset()
                t0 = time.perf_counter()
                for i in range(args.steps):
                    env.step(ACTIONS[i % len(ACTIONS)])
                rates[e].append(args.steps / (time.perf_counter() - t0))
    finally:
        for env in envs.values():
            env.close()
    base = statistics.median(rates[engines[0]])
    print(
        f"scene {args.scene}, {args.size}x{args.size} rgb, {args.rounds} alternating rounds of {args.steps} steps"
    )
    for e in engines:
        med = statistics.median(rates[e])
        print(
            f"{e:8s} {med:8.0f} steps/s  (min {min(rates[e]):.0f}, max {max(rates[e]):.0f})  ratio {med / base:.2f}"
        )


if __name__ == "__main__":
    main()
