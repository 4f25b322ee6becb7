"""The examples that need an optional extra say which one, in one line, and exit 2 (no traceback)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the example runs as a script with torch hidden (None in sys.modules: 'import torch' fails, as after
# a plain 'pip install -e .'), whether or not this machine has it
HIDE_TORCH = (
    "import runpy, sys; sys.modules['torch'] = None; sys.argv = [sys.argv[1]]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def test_train_ppo_without_torch_names_the_rl_extra():
    script = str(ROOT / "examples" / "train_ppo.py")
    r = subprocess.run([sys.executable, "-c", HIDE_TORCH, script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "torch" in lines[0] and "'.[rl]'" in lines[0] and "download.pytorch.org/whl/cpu" in lines[0]


def test_train_ppo_refuses_a_bad_step_count_in_one_line():
    script = str(ROOT / "examples" / "train_ppo.py")
    r = subprocess.run(
        [sys.executable, script, "--timesteps", "-5"], capture_output=True, text=True, timeout=60
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr  # was accepted (argparse int, no check)
    assert lines[0].startswith("train_ppo.py: error: argument --timesteps: must be at least 1, got -5")
