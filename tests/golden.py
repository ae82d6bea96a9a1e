"""Golden files: every message layout is a reviewed file; UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_golden(name: str, actual: Any) -> None:
    path = GOLDEN_DIR / f"{name}.golden.json"
    text = json.dumps(actual, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert json.loads(text) == json.loads(path.read_text()), (
        f"{path.name} differs; if the change is intended, run UPDATE_GOLDEN=1 and review the diff"
    )
