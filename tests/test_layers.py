"""The layers: the engine process and the validator do not load the runtime stack; the package imports lazily."""

import json
import subprocess
import sys

HEAVY = ("gymnasium", "pydantic", "pettingzoo", "embodied.env", "embodied.engine", "embodied.agents.oracle")


def loaded_after(code: str) -> set[str]:
    """Top-level modules and embodied modules loaded after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return set(json.loads(r.stdout.splitlines()[-1]))


def heavy_in(mods: set[str], names) -> list[str]:
    return [n for n in names if n in mods]


def test_import_embodied_is_cheap():
    mods = loaded_after("import embodied")
    assert heavy_in(mods, (*HEAVY, "numpy", "zmq", "panda3d", "embodied.spec")) == []
    assert "embodied.errors" in mods  # errors are always there to catch


def test_engine_server_module_does_not_load_runtime_stack():
    # what `python -m embodied.bridges.panda3d.server` imports before it starts serving
    mods = loaded_after("import embodied.bridges.panda3d.server")
    assert heavy_in(mods, (*HEAVY, "embodied.spec", "embodied.world")) == []
    assert "zmq" in mods  # it is a ZeroMQ server after all: the probe would see a broken import


def test_validate_does_not_load_oracle_env_engine_or_zmq():
    mods = loaded_after("from embodied.validate import validate\nassert validate('key_door').ok")
    assert (
        heavy_in(
            mods,
            ("gymnasium", "pettingzoo", "zmq", "embodied.env", "embodied.engine", "embodied.agents.oracle"),
        )
        == []
    )
    assert "embodied.planning" in mods


def test_gymnasium_make_works_after_import_embodied_either_order():
    for code in (
        "import embodied, gymnasium",
        "import gymnasium, embodied",
        "import embodied\nfrom gymnasium import spaces\nimport gymnasium",
    ):
        mods = loaded_after(
            code + "\nassert 'embodied/EscapeRoom-v0' in gymnasium.registry, list(gymnasium.registry)"
        )
        assert "embodied.env" not in mods  # registering names an entry point; the env loads on make()


def test_lazy_names_resolve_and_unknown_names_fail():
    import embodied

    assert embodied.Action("Open", ("chest",)).name == "Open"
    assert "escape/key-door" in embodied.list_tasks()
    assert set(embodied.__all__) <= set(dir(embodied))
    try:
        embodied.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_version_matches_pyproject():
    import re
    from pathlib import Path

    import embodied

    text = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == embodied.__version__
    r = subprocess.run([sys.executable, "-m", "embodied.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"embodied {embodied.__version__}"


def test_render_request_checks_have_one_definition():
    """The scene-dependent render checks live in embodied.protocol; servers and renderers call them."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for phrase in ("no camera for agent", "unknown node id"):
        where = [
            str(p.relative_to(root))
            for folder in ("embodied", "bridges")
            for p in (root / folder).rglob("*.py")
            if phrase in p.read_text()
        ]
        assert where == ["embodied/protocol.py"], (phrase, where)


def test_core_raises_only_embodied_errors():
    """Errors raised on purpose in the core are EmbodiedError subclasses (pydantic validators in
    spec.py must raise ValueError; pydantic turns them into SpecError entries)."""
    import re
    from pathlib import Path

    pkg = Path(__file__).resolve().parents[1] / "embodied"
    core = [
        *(
            pkg / f"{m}.py"
            for m in (
                "env",
                "world",
                "rules",
                "solver",
                "nav",
                "layout",
                "actions",
                "tasks",
                "planning",
                "record",
                "cli",
                "protocol",
                "engine",
                "validate",
                "scene_graph",
                "objtypes",
                "language",
                "clues",
            )
        ),
        *(pkg / "adapters").glob("*.py"),
        *(pkg / "commands").glob("*.py"),
        pkg / "agents" / "__init__.py",
    ]
    bare = re.compile(
        r"raise (ValueError|TypeError|KeyError|RuntimeError|NotImplementedError|Exception)\(|^\s*assert "
    )
    found = [
        f"{p.name}:{i}: {line.strip()}"
        for p in core
        if p.exists()
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert found == []
