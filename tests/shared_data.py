"""The one place tests reach ``../shared``: skip cleanly when it is absent."""
from pathlib import Path

import pytest


def shared_dataset(name: str) -> Path:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / name
    if not root.is_dir():
        pytest.skip(f"../shared/datasets/{name} not present")
    return root
