"""Quickstart: make an env, look, act, save a frame. Run: python examples/quickstart.py"""

from PIL import Image

import embodied

with embodied.make("escape/key-door", width=224, height=224, seed=0) as env:
    obs, info = env.reset(seed=0)
    print("allowed:", info["allowed_actions"][:8], "...")
    for action in ["turn left", "RotateLeft", "look down", "pick up the brass key", 0]:
        obs, reward, terminated, truncated, info = env.step(action)
        print(
            f"{action!s:24s} -> {info['action']!s:22s} ok={info['lastActionSuccess']} {info['errorMessage'] or obs['text']}"
        )
        if terminated or truncated:
            break
    Image.fromarray(obs["rgb"]).save("quickstart.png")
    print("frame saved to quickstart.png; inventory:", info["inventory"])
