"""A new task in Python: the safe's code and the note's wall change with the seed. Run me."""

import embodied
from embodied.agents import make_agent
from embodied.tasks import Task, register


class VaultTask(Task):
    description = "Read the code, open the safe, take the key, escape."
    max_steps = 300

    def build(self, rng):
        code = f"{rng.randrange(10000):04d}"
        wall = rng.choice(["east", "west", "south"])
        return {
            "format": "embodied.scene/1",
            "name": f"vault-{code}",
            "seed": rng.randrange(1000),
            "rooms": [{"id": "vault", "size": [5, 4.5]}],
            "doors": [
                {
                    "id": "exit",
                    "between": ["vault", "outside"],
                    "wall": "north",
                    "lock": {"kind": "key", "key": "key"},
                }
            ],
            "objects": [
                {
                    "id": "safe",
                    "type": "safe",
                    "room": "vault",
                    "contains": ["key"],
                    "lock": {"kind": "code", "code": code},
                },
                {"id": "key", "type": "key", "color": "gold"},
                {"id": "note", "type": "note", "room": "vault", "wall": wall, "text": f"Safe: {code}"},
            ],
            "agents": [{"id": "a0", "room": "vault"}],
            "goal": {"exit_through": "exit"},
        }

    def reward(self, env, agent, info, default):  # optional: a small step cost
        return default - 0.01


register("mine/vault", VaultTask, overwrite=True)

if __name__ == "__main__":
    with embodied.make("mine/vault", seed=7) as env:
        obs, info = env.reset(seed=7)
        oracle = make_agent("oracle")
        oracle.reset(env)
        terminated = truncated = False
        while not (terminated or truncated):
            obs, reward, terminated, truncated, info = env.step(oracle.act(obs, info))
        print(env.spec.name, "success:", info["success"], "steps:", info["step"])
