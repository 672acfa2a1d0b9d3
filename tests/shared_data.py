"""The one place tests reach ``../shared``: skip cleanly when it is absent."""
import os
from pathlib import Path

import pytest


# TOPOFD_SHARED: for a checkout whose parent folder has no shared/ (a git worktree)
SHARED = Path(os.environ.get("TOPOFD_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")


def shared_dataset(name: str) -> Path:
    root = SHARED / "datasets" / name
    if not root.is_dir():
        pytest.skip(f"../shared/datasets/{name} not present")
    return root


def shared_fixture(name: str) -> Path:
    path = SHARED / "fixtures" / name
    if not path.is_file():
        pytest.skip(f"../shared/fixtures/{name} not present")
    return path
