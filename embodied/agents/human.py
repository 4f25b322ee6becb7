"""A person plays: each step the frame is saved as an image file (and drawn in the terminal
with coloured half-blocks when stdout is a terminal), the task, feedback and numbered allowed
actions are printed, and one line is read from stdin: an action number, a canonical action
(``Open(chest)``), or free text (``open the red chest``). End of input means ``Done``.

Results of human runs go into the same run directories and tables as any agent's
(``embodied bench run --agent human``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

import numpy as np
from PIL import Image

from ..actions import Action


def terminal_image(rgb: np.ndarray, width: int = 48) -> str:
    """The frame as 24-bit colour half-block characters (two pixel rows per text row)."""
    h, w = rgb.shape[:2]
    height = max(2, int(h * width / w) // 2 * 2)
    img = np.asarray(Image.fromarray(rgb).resize((width, height)))
    rows = []
    for y in range(0, height, 2):
        top, bot = img[y], img[y + 1]
        rows.append(
            "".join(
                f"\x1b[38;2;{a[0]};{a[1]};{a[2]}m\x1b[48;2;{b[0]};{b[1]};{b[2]}m\u2580"
                for a, b in zip(top, bot)
            )
            + "\x1b[0m"
        )
    return "\n".join(rows)


def input_ahead() -> bool:
    """Whether a person (a terminal) or a pipe can give the human agent any line: peeks, without
    consuming, for a first byte; False for a closed stdin or one at end of input (/dev/null)."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return False
    if stdin.isatty():
        return True
    buffer = getattr(stdin, "buffer", None)
    if buffer is None or not hasattr(buffer, "peek"):
        return True  # a replaced stdin (a StringIO in a test) cannot be peeked: let it play
    try:
        return bool(buffer.peek(1))
    except (OSError, ValueError):
        return False


def require_input() -> None:
    """ConfigError (one line, before any engine starts) when the human agent could read no action
    at all: every episode would end at once with 'Done' and be recorded as failed."""
    if not input_ahead():
        from ..errors import ConfigError

        raise ConfigError(
            "--agent human reads actions from stdin, which is empty (end of input): run it in a "
            "terminal, or pipe the actions in, one per line"
        )


class HumanAgent:
    """Reads actions from ``stdin`` (default: the process's), writes prompts to ``stdout``."""

    def __init__(
        self,
        agent_id: str | None = None,
        seed: int = 0,
        frame_dir: str | None = None,
        show: bool | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ):
        self.agent_id = agent_id
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.frame_dir = Path(frame_dir or tempfile.gettempdir()) / "embodied-human"
        self.show = self.stdout.isatty() if show is None else show
        self.last: dict = {}
        self.env = None

    def reset(self, env) -> None:
        self.env = env
        self.agent_id = self.agent_id or env.agent_id
        self.frame_dir.mkdir(parents=True, exist_ok=True)
        self._say(f"\n=== {env.spec.name}: {env.spec.description or ''}")

    def _say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def act(self, obs=None, info=None):
        path = self.frame_dir / f"frame_{self.agent_id}.png"
        if obs is not None and "rgb" in obs:
            Image.fromarray(obs["rgb"]).save(path)
            if self.show:
                self._say(terminal_image(obs["rgb"]))
        info = info or {}
        lines = [
            f"--- {self.agent_id}, step {info.get('step', 0)}/{info.get('max_steps', '?')}; frame: {path}"
        ]
        if obs is not None and obs.get("text"):
            lines.append(f"you see/hear: {obs['text']}")
        if info.get("errorMessage"):
            lines.append(f"last action failed: {info['errorMessage']}")
        lines.append(f"holding: {', '.join(info.get('inventory', [])) or 'nothing'}")
        lines += [f"  {i:2d}. {a}" for i, a in enumerate(info.get("allowed_actions", []))]
        lines.append("action (number, canonical action or words; empty line = Pass, end of input = Done)> ")
        self._say("\n".join(lines))
        line = self.stdin.readline()
        if not line:
            self.last = {"thought": "end of input"}
            return Action("Done")
        line = line.strip()
        self.last = {"thought": None, "prompt": None}
        if not line:
            return Action("Pass")
        return int(line) if line.isdigit() else line
