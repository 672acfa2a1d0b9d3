"""Packaging: every package and bundled file reaches the wheel and the sdist.

Static checks of pyproject.toml against the source tree (fast), and one
sdist build (no compiler needed).  CI (.ci/run) goes further: it builds the
wheel from that sdist, installs both in fresh environments and runs them.
Skipped when the tests run outside a source checkout (e.g. from an sdist's
tests against an installed package).
"""
import fnmatch
import importlib.util
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "topofd" / "__init__.py").is_file():
    pytest.skip("not a source checkout", allow_module_level=True)
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = CONFIG["tool"]["setuptools"]


def _package_dirs() -> dict[str, Path]:
    return {pkg: ROOT / SETUPTOOLS["package-dir"].get(pkg, pkg.replace(".", "/"))
            for pkg in SETUPTOOLS["packages"]}


def _data_files(pkg_dir: Path) -> list[str]:
    """Files under ``pkg_dir`` that are neither Python sources of a package
    nor build products, relative to it."""
    out = []
    for p in pkg_dir.rglob("*"):
        rel = p.relative_to(pkg_dir)
        if p.is_dir() or "__pycache__" in rel.parts or p.name.startswith("."):
            continue
        if p.suffix in (".py", ".pyc", ".so", ".pyd", ".c", ".pyx") or p.name.endswith(".egg-info"):
            continue
        out.append(rel.as_posix())
    return out


def _matches(rel: str, pattern: str) -> bool:
    if "**" in pattern:
        prefix, _, rest = pattern.partition("**/")
        return rel.startswith(prefix) and fnmatch.fnmatch(rel[len(prefix):].rsplit("/", 1)[-1], rest or "*")
    return fnmatch.fnmatch(rel, pattern) and rel.count("/") == pattern.count("/")


def test_every_subpackage_is_declared():
    """``packages`` is an explicit list: a new subpackage must join it or it
    is silently left out of the wheel."""
    declared = set(SETUPTOOLS["packages"])
    for pkg, d in _package_dirs().items():
        for init in d.rglob("__init__.py"):
            sub = init.parent.relative_to(d)
            name = ".".join([pkg, *sub.parts]) if sub.parts else pkg
            assert name in declared, f"{name} ({init.parent}) is not in [tool.setuptools] packages"


def test_every_data_file_is_package_data():
    globs = CONFIG["tool"]["setuptools"].get("package-data", {})
    dirs = _package_dirs()
    subpackage_dirs = {d for d in dirs.values()}
    for pkg, d in dirs.items():
        patterns = globs.get(pkg, [])
        for rel in _data_files(d):
            # files of a declared subpackage belong to that package's globs
            owner = d / rel
            if any(owner.is_relative_to(s) and s != d and s.is_relative_to(d) for s in subpackage_dirs):
                continue
            assert any(_matches(rel, p) for p in patterns), f"{d.name}/{rel} matches no package-data glob of {pkg}"


def test_extension_is_optional():
    """Without a compiler the install must still succeed (POT fallback for the
    barycenter's solver, scipy's pair-by-pair W1 for MMD)."""
    exts = SETUPTOOLS["ext-modules"]
    assert [e["name"] for e in exts] == ["topofd.tda._simplex", "topofd.tda._w1"]
    assert all("-ffp-contract=off" in e.get("extra-compile-args", []) for e in exts)
    assert all(e.get("optional") is True for e in exts)


@pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="needs the 'build' package (test extra)")
def test_sdist_ships_what_a_build_and_the_tests_need(tmp_path):
    # built without isolation (no download): needs the build requirements here
    pytest.importorskip("Cython", reason="the sdist build runs without isolation: needs Cython installed")
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (74, 1):
        pytest.skip(f"setuptools {setuptools.__version__} here; the build needs >= 74.1")
    res = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path),
                          str(ROOT)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (sdist,) = tmp_path.glob("topofd-*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    must = ["pyproject.toml", "README.md", "MANIFEST.in", "topofd/tda/_simplex.pyx", "topofd/tda/_w1.pyx",
            "tests/test_parity_brca.py",
            "tests/golden/brca_m2c_paper.json", "generator/configs/tiny.yaml"]
    for d in _package_dirs().values():
        must += [f"{d.relative_to(ROOT).as_posix()}/{rel}" for rel in _data_files(d)]
    missing = [m for m in must if m not in names]
    assert not missing, f"sdist lacks {missing[:10]}"
    generated = ("topofd/tda/_simplex.c", "topofd/tda/_w1.c")
    products = [n for n in names if n.endswith((".so", ".pyd", ".pyc")) or n in generated]
    assert not products, f"sdist carries build products {products}"
