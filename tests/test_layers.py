"""The house keeps its rooms: a lower layer never imports a higher one (read with `ast`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

# room -> rooms (and outside packages) it must never import
FORBIDDEN = {
    "bot.kosli": ("bot.", "slack_sdk", "slack_bolt", "sqlalchemy"),
    "bot.githost": ("bot.", "slack_sdk", "slack_bolt", "sqlalchemy"),
    "bot.domain": (
        "bot.slack", "bot.store", "bot.transport", "bot.commands", "bot.watch",
        "bot.render", "bot.runtime", "bot.shell", "bot.sandbox",
        "slack_sdk", "slack_bolt", "sqlalchemy", "httpx",
    ),
    "bot.render": (
        "bot.slack", "bot.store", "bot.transport", "bot.commands", "bot.watch",
        "bot.runtime", "bot.shell", "bot.sandbox",
        "slack_bolt", "slack_sdk.web", "slack_sdk.errors", "sqlalchemy", "httpx",
    ),
    "bot.store": ("bot.render", "bot.commands", "bot.transport", "bot.slack", "bot.watch"),
    "bot.transport": ("bot.commands", "bot.slack", "bot.store", "bot.watch", "bot.runtime"),
    "bot.watch": ("bot.commands", "bot.slack", "bot.runtime", "bot.shell"),
    "bot.history": (
        "bot.commands", "bot.slack", "bot.watch", "bot.runtime", "bot.shell", "bot.render",
        "bot.transport",
    ),
    "bot.commands": ("bot.slack", "bot.runtime", "bot.shell", "slack_sdk", "slack_bolt"),
}  # fmt: skip
# The Kosli and git host clients are self-contained.
ALLOWED_INSIDE = {"bot.kosli": ("bot.kosli",), "bot.githost": ("bot.githost",)}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module: str) -> list[str]:
    """Every module `path` imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append(".".join([*base, *([node.module] if node.module else [])]))
            else:
                found.append(node.module or "")
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
