"""``import topofd`` (and the generator's config loader) without torch installed."""
import subprocess
import sys

BLOCK = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch blocked for this test")
sys.meta_path.insert(0, NoTorch())
"""


def test_import_topofd_without_torch(tmp_path):
    code = BLOCK + """
import topofd, topofd.generator
from topofd.generator.config import load_config
assert load_config("tiny")["model"]["num_classes"] == 3
assert "torch" not in sys.modules
try:
    import torch
except ImportError:
    pass
else:
    raise SystemExit("torch was importable")
print("ok")
"""
    # run outside the checkout: `python -c` puts the working directory first on
    # the path, and the source tree has no topofd/generator (it is installed from generator/)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
