"""The banner and closing lines ``embodied demo`` and ``embodied play`` share (embodied/commands/episode_out.py)."""

from rich.console import Console

from embodied.commands.episode_out import banner


def test_one_banner_for_demo_and_play(make_env):
    env = make_env("key_door", width=96, height=64, max_steps=40)
    console = Console(record=True, width=200)
    banner(console, "demo", "oracle agent", env, "embedded Panda3D engine, software renderer")
    banner(console, "play", "a0=openai:[gpt]", env, "")
    lines = console.export_text().splitlines()
    assert lines == [
        "embodied demo: oracle agent in scene key_door (embedded Panda3D engine, software renderer, 96x64)",
        "task: escape through exit; budget 40 steps",
        "embodied play: a0=openai:[gpt] in scene key_door (96x64)",  # markup in a name is shown, not parsed
        "task: escape through exit; budget 40 steps",
    ]
