"""The docs tooling (docs/hooks.py, docs/griffe_topofd.py) on topofd itself:
every option in the options table, CLI defaults as values, a page per metric,
no reST role left in a docstring.  Skipped without the docs extra; the built
site itself is checked in headless Chromium by docs/check_site.py (CI)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
griffe = pytest.importorskip("griffe")

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):`")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", ROOT / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hooks():
    return _load("hooks")


def test_options_table_has_every_option(hooks):
    from topofd.options import all_specs

    table = hooks.options_table(hooks.option_specs())
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and "option-" in ln]
    names = [n for n, _, _ in all_specs()]  # plug-ins' options too
    assert len(rows) == len(names)
    for name, row in zip(names, rows):
        assert f'id="option-{name}"' in row and f"`{name}`" in row


def test_cli_reference_shows_values_and_a_command_table(hooks):
    md = hooks.cli_markdown("topofd.cli:cli", "topofd")
    assert "Sentinel" not in md and "UNSET" not in md
    assert "| `topofd compare REAL SYNTH` |" in md  # the group's command list, as a table row
    row = next(ln for ln in md.splitlines() if ln.startswith("| `--protocol`"))
    assert "| `protocol` | `paper` |" in row  # keyword and default value
    row = next(ln for ln in md.splitlines() if ln.startswith("| `--json`"))
    assert "| — |" in row  # no default: a dash


def test_one_page_per_metric(hooks):
    import topofd.metrics as registry

    anchored: set[str] = set()
    for name in registry.names():
        page = hooks.metric_page(name, "", anchored)
        info = hooks.metric_info(name)
        assert page.startswith(f"# Metric `{name}`")
        assert f"::: {info['module']}" in page
        assert not ROLE.search(hooks.no_roles(hooks.cell(info["summary"])))
    index = hooks.metrics_index()
    assert all(f"(metrics/{n}.md)" in index for n in registry.names())


def test_griffe_extension_rewrites_roles_and_signatures():
    ext = _load("griffe_topofd")
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(ext.TopofdDocs()),
        search_paths=[str(ROOT)],
        docstring_parser=griffe.Parser("numpy"),
    )
    pkg = loader.load("topofd")
    left = [o.path for o in ext._walk(pkg) if o.docstring is not None and ROLE.search(o.docstring.value)]
    assert not left, left[:5]
    from topofd.options import all_specs

    compare = pkg["api"]["compare"]
    assert [p.name for p in compare.parameters] == ["real", "synth", "options", *(n for n, _, _ in all_specs())]
    params = next(s for s in compare.docstring.parsed if s.kind is griffe.DocstringSectionKind.parameters)
    assert {p.name for p in params.value} >= {"real", "synth", "protocol", "seed"}


def test_plugin_guide_example_runs(tmp_path):
    """The whole plug-in of docs/plugins.md ('Write a metric') registers and scores."""
    import subprocess

    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", page, flags=re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(
        code
        + """
import numpy as np, topofd
from topofd.metrics import register
register(METRIC)
rng = np.random.default_rng(0)
def layout(i, n):
    pts = tuple(rng.uniform(0, 64, (n + k, 2)) for k in range(2))
    return topofd.Layout(points=pts, classes=("a", "b"), shape=(64, 64), name=f"l{i}")
real = [layout(i, 20) for i in range(6)]
synth = [layout(i, 30) for i in range(6)]
print(topofd.compare(real, synth, metrics=METRIC.name, uncertainty=False))
""",
        encoding="utf-8",
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    title = next(c.title for c in _columns_of(code))
    assert title in out.stdout and re.search(r"^mean\s+-?\d", out.stdout, flags=re.M), out.stdout


def _columns_of(code: str):
    namespace: dict = {}
    exec(compile(code, "plugins.md", "exec"), namespace)
    return namespace["METRIC"].columns
