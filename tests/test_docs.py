"""The documents in docs/ say what the code does: the scene-format reference is checked against the
pydantic schema, the type table against types.yaml, the predicates against the validator."""

import re
from pathlib import Path

import pytest

from embodied.objtypes import TYPES
from embodied.spec import GOAL_KEYS, STATES, AgentSpec, Door, Lock, Obj, Room, Spec

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "scene-format.md").read_text()


def table_after(heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the first Markdown table after ``heading``."""
    part = DOC.split(heading, 1)[1]
    rows = []
    for line in part.splitlines()[1:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set(cells[0]) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header row


@pytest.mark.parametrize(
    "heading, model",
    [
        ("### Scene (`Spec`)", Spec),
        ("### Room", Room),
        ("### Door", Door),
        ("### Object", Obj),
        ("### Lock", Lock),
        ("### Agent", AgentSpec),
    ],
)
def test_field_reference_matches_schema(heading, model):
    rows = table_after(heading)
    documented = {r[0].strip("`"): r[1] for r in rows}
    assert set(documented) == set(model.model_fields), heading
    for name, field in model.model_fields.items():
        assert documented[name] == ("yes" if field.is_required() else "no"), f"{heading} {name}"
    assert all(r[3] for r in rows)  # every field is explained


def test_type_table_matches_types_yaml():
    rows = table_after("## Object types")
    documented = {}
    for names, affords in ((r[0], r[1]) for r in rows):
        for n in re.findall(r"`(\w+)`", names):
            documented[n] = {a.strip() for a in affords.split(",")}
    assert documented == {n: set(t.affords) for n, t in TYPES.items()}


def test_predicates_and_states_match_validator():
    rows = table_after("## Goal predicates")
    keys = {k for r in rows for k in re.findall(r'\{"(\w+)"', r[0])}
    assert keys == GOAL_KEYS
    states_row = next(r for r in rows if r[0].startswith('`{"state"'))
    assert set(re.findall(r"`(\w+)`", states_row[1])) - {"s"} == STATES


def test_worked_example_is_the_shipped_scene():
    import json

    example = re.search(r"```json\n(.*?)```", DOC, re.S).group(1)
    assert json.loads(example) == json.loads((ROOT / "scenes" / "chest_split_code.json").read_text())


def test_readme_links_docs_and_code_cites_no_design_sections():
    readme = (ROOT / "README.md").read_text()
    for doc in ("docs/architecture.md", "docs/scene-format.md"):
        assert doc in readme and (ROOT / doc).exists()
    offenders = []
    for folder in ("embodied", "bridges", "procedural", "examples", "benchmarks"):
        for p in (ROOT / folder).rglob("*"):
            if p.suffix in (".py", ".yaml", ".md", ".json") and re.search(r"DESIGN(\.md| §)", p.read_text()):
                offenders.append(str(p.relative_to(ROOT)))
    assert offenders == []


def test_cli_page_lists_every_command_and_environment_variable():
    """docs/cli.md, the commands at a glance: every subcommand (and bench's), and every
    EMBODIED_* variable the code reads, so a new one is not left out."""
    from embodied.bench.cli import COMMANDS as BENCH
    from embodied.cli import COMMANDS

    page = (ROOT / "docs" / "cli.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    listed = " ".join(rows)
    assert all(f"`{name}" in listed for name in COMMANDS), [n for n in COMMANDS if f"`{n}" not in listed]
    assert all(f"`{name}`" in listed or f" {name}`" in listed for name in BENCH)
    code = " ".join(p.read_text() for d in ("embodied", "bridges") for p in (ROOT / d).rglob("*.py"))
    read = set(re.findall(r"EMBODIED_[A-Z]+(?:_[A-Z]+)*", code))
    assert read and read <= set(re.findall(r"EMBODIED_[A-Z_]+", page)), read - set(
        re.findall(r"EMBODIED_[A-Z_]+", page)
    )
