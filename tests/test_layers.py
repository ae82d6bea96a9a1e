"""The house keeps its rooms: a lower layer never imports a higher one (read with `ast`)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

# room -> rooms (and outside packages) it must never import. From the top: the entry points
# (bot.__main__, bot.shell), then bot.web (the ways in), bot.runtime (the process's parts),
# bot.slack (Bolt's listeners), bot.workspaces (each workspace's services), bot.commands,
# bot.watch, and the rooms below them.
FORBIDDEN = {
    "bot.kosli": ("bot.", "slack_sdk", "slack_bolt", "sqlalchemy"),
    "bot.githost": ("bot.", "slack_sdk", "slack_bolt", "sqlalchemy"),
    "bot.background": ("bot.",),
    "bot.loop": ("bot.",),
    "bot.metrics": ("bot.",),
    "bot.domain": (
        "bot.web", "bot.slack", "bot.store", "bot.transport", "bot.commands", "bot.watch",
        "bot.render", "bot.runtime", "bot.shell", "bot.sandbox",
        "slack_sdk", "slack_bolt", "sqlalchemy", "httpx",
    ),
    "bot.render": (
        "bot.web", "bot.slack", "bot.store", "bot.transport", "bot.commands", "bot.watch",
        "bot.runtime", "bot.shell", "bot.sandbox",
        "slack_bolt", "slack_sdk.web", "slack_sdk.errors", "sqlalchemy", "httpx",
    ),
    "bot.store": (
        "bot.web", "bot.render", "bot.commands", "bot.transport", "bot.slack", "bot.watch",
    ),
    "bot.transport": (
        "bot.web", "bot.commands", "bot.slack", "bot.store", "bot.watch", "bot.runtime",
    ),
    "bot.watch": (
        "bot.web", "bot.commands", "bot.slack", "bot.runtime", "bot.shell", "bot.workspaces",
    ),
    "bot.history": (
        "bot.web", "bot.commands", "bot.slack", "bot.watch", "bot.runtime", "bot.shell",
        "bot.render", "bot.transport",
    ),
    "bot.commands": (
        "bot.web", "bot.slack", "bot.runtime", "bot.shell", "bot.workspaces", "slack_sdk",
        "slack_bolt",
    ),
    "bot.workspaces": ("bot.web", "bot.slack", "bot.runtime", "bot.shell"),
    # Bolt's listeners: they get their services handed in, and know nothing of HTTP.
    "bot.slack": ("bot.web", "bot.runtime", "bot.shell", "starlette", "uvicorn"),
    "bot.runtime": ("bot.web", "bot.slack", "bot.shell"),
    # OAuth mode's parts (installs, connections, uninstalls), built beside the runtime.
    "bot.installs": ("bot.web", "bot.slack", "bot.runtime", "bot.shell"),
    "bot.web": ("bot.shell", "bot.__main__"),
}  # fmt: skip
# The Kosli and git host clients are self-contained.
ALLOWED_INSIDE = {"bot.kosli": ("bot.kosli",), "bot.githost": ("bot.githost",)}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module: str, names: bool = False) -> list[str]:
    """Every module `path` imports, relative imports resolved; with `names`, also each name a
    `from` import takes (`from bot.web import gate` takes the module bot.web.gate)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.append(source)
            found += [f"{source}.{alias.name}" for alias in node.names] if names else []
    return found


def within(module: str, prefix: str) -> bool:
    """`bot.` matches every bot module; `bot.store` matches it and its submodules."""
    if prefix.endswith("."):
        return module.startswith(prefix)
    return module == prefix or module.startswith(prefix + ".")


def violations(root: Path = BOT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        room = next((r for r in FORBIDDEN if within(module, r)), None)
        if room is None:
            continue
        for imported in imports(path, module):
            if any(within(imported, ok) for ok in ALLOWED_INSIDE.get(room, ())):
                continue
            found += [
                f"{module} imports {imported} ({room} may not import {banned})"
                for banned in FORBIDDEN[room]
                if within(imported, banned)
            ]
    return found


def test_no_room_imports_a_higher_one() -> None:
    assert violations() == []


def cycle(root: Path = BOT) -> list[str]:
    """A round of modules importing each other (empty when there is none)."""
    modules = {module_name(path, root): path for path in root.rglob("*.py")}

    def owner(imported: str) -> str | None:  # `bot.x.y.name` is module bot.x.y
        while imported and imported not in modules:
            imported = imported.rpartition(".")[0]
        return imported or None

    graph = {
        module: {owner(i) for i in imports(path, module, names=True)} - {None, module}
        for module, path in modules.items()
    }
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def test_no_modules_import_each_other_round_a_cycle() -> None:
    assert cycle() == []


def test_the_cycle_check_catches_one(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    (root / "web").mkdir(parents=True)
    (root / "web" / "gate.py").write_text("from bot.web.app import build_web_app\n")
    (root / "web" / "app.py").write_text("from bot.web import gate\n")
    assert sorted(set(cycle(root))) == ["bot.web.app", "bot.web.gate"]
    (root / "web" / "gate.py").write_text("import json\n")
    assert cycle(root) == []


def private_imports(root: Path = BOT) -> list[str]:
    """Imports of Slack's libraries' private modules (`internals`, `_name`): they change
    without notice between releases."""
    return [
        f"{module_name(path, root)} imports {imported}"
        for path in sorted(root.rglob("*.py"))
        for imported in imports(path, module_name(path, root), names=True)
        if imported.split(".")[0] in ("slack_bolt", "slack_sdk")
        and any(part.startswith("_") or part.endswith("internals") for part in imported.split("."))
    ]


def test_nothing_reaches_into_slacks_private_modules() -> None:
    assert private_imports() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from slack_bolt.request.internals import extract_team_id", True),
        ("from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app", True),
        ("from slack_sdk.web._private import thing", True),
        ("from slack_bolt.request import internals", True),
        ("from slack_bolt.adapter.starlette.async_handler import to_starlette_response", False),
    ],
)
def test_the_private_import_check_catches_one(tmp_path: Path, source: str, expected: bool) -> None:
    root = tmp_path / "bot"
    root.mkdir()
    (root / "x.py").write_text(source + "\n")
    assert bool(private_imports(root)) is expected


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("bot.domain.x", "from bot.store.store import Store", True),
        ("bot.domain.x", "from ..store import store", True),
        ("bot.render.x", "import slack_bolt", True),
        ("bot.render.x", "from slack_sdk.models.blocks import Block", False),
        ("bot.kosli.x", "from bot.kosli.models import Snapshot", False),
        ("bot.kosli.x", "from bot.domain.changes import Kind", True),
        ("bot.githost.x", "from bot.kosli.models import Snapshot", True),
        ("bot.githost.x", "from bot.githost.models import Comparison", False),
        ("bot.store.x", "from bot.render.blockkit import Message", True),
        ("bot.slack.x", "from bot.web.gate import Refusal", True),
        ("bot.slack.x", "from bot.runtime import Runtime", True),
        ("bot.slack.x", "from starlette.requests import Request", True),
        ("bot.slack.x", "from bot.background import in_background", False),
        ("bot.slack.x", "from bot.commands.services import Services", False),
        ("bot.web.x", "from bot.slack.app import build_bolt_app", False),
        ("bot.web.x", "from bot.runtime import Runtime", False),
        ("bot.web.x", "from bot.shell import run_shell", True),
        ("bot.runtime", "from bot.web.app import build_web_app", True),
        ("bot.runtime", "from bot.slack import commands", True),
        ("bot.runtime", "from bot.workspaces import Workspaces", False),
        ("bot.slack.x", "from bot.workspaces import Workspaces", False),
        ("bot.workspaces", "from bot.slack.workspace import services_of", True),
        ("bot.workspaces", "from bot.runtime import Runtime", True),
        ("bot.watch.x", "from bot.workspaces import Workspaces", True),
        ("bot.commands.x", "from bot.web import gate", True),
        ("bot.watch.x", "from ..web.webhook import parse_push", True),
        ("bot.background", "from bot.slack.app import build_bolt_app", True),
    ],
)
def test_the_check_itself_catches_an_upward_import(
    tmp_path: Path, module: str, source: str, expected: bool
) -> None:
    """A layering test that cannot fail proves nothing: plant one import and look."""
    root = tmp_path / "bot"
    path = root.joinpath(*module.split(".")[1:]).with_suffix(".py")
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n")
    assert bool(violations(root)) is expected
