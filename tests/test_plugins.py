"""A metric is one module: every registered column prints in every output,
and a metric from another package — one file, registered by the entry-point
group ``topofd.metrics`` — shows in the text table, JSON, CSV, HTML,
leaderboard and ``--metrics`` help, with its option as a CLI flag and an API
keyword and its metadata and explanations in the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from topofd import metrics as registry
from topofd.metrics.base import Column, Metric, MetricResult
from topofd.output.html import report_html
from topofd.output.report import Report, assemble_table, format_table
from topofd.stats.uncertainty import Estimate

PLUGIN = Path(__file__).parent / "plugin_example"
CLASSES = ("a", "b")


def _filled(metric: Metric) -> MetricResult:
    """A result with a value (and an interval) in every cell a metric's columns declare."""
    cells = {}
    for c in metric.columns:
        rows = ["mean"] if c.scope == "layout" else [*CLASSES, *(["mean"] if c.mean else [])]
        cells[c.key] = {r: Estimate(0.5, 0.1, 0.3, 0.7, 9) for r in rows}
    return MetricResult(cells=cells)


def test_every_registered_column_prints_everywhere():
    results = {n: _filled(registry.get(n)) for n in registry.names()}
    table, _ = assemble_table(CLASSES, results)
    report = Report("paper", CLASSES, table, {"metrics": list(results)})
    text, js, page = format_table(table), report.to_dict(), report_html(report)
    for c in registry.columns():
        assert c.title in text, f"column {c.key} ({c.title}) does not print in the text table"
        assert c.key in (js["mean"] if c.mean else js["per_class"][0]), f"column {c.key} not in the JSON"
        assert f"{c.key}_se" in table.columns
        assert c.title in page or c.key in page, f"column {c.key} not in the HTML report"


def test_an_incomplete_description_is_refused():
    class NoColumns(Metric):
        name = "nocolumns"
        summary = "x"

    with pytest.raises(ValueError, match="columns"):
        registry.register(NoColumns())

    class Taken(Metric):
        name = "taken"
        summary = "x"
        columns = (Column("topokd", "Mine"),)

    with pytest.raises(ValueError, match="already filled by topokd"):
        registry.register(Taken())
    with pytest.raises(TypeError):
        registry.register(object())  # type: ignore[arg-type]


def _layouts(tmp: Path, name: str, seed: int, suffix: str = "") -> Path:
    rng = np.random.default_rng(seed)
    d = tmp / name
    d.mkdir()
    for i in range(12):
        m = np.zeros((2, 64, 64), np.uint8)
        for k in range(2):
            pts = rng.integers(2, 62, size=(rng.integers(8, 20), 2))
            m[k, pts[:, 0], pts[:, 1]] = 1
        np.save(d / f"p{i:02d}{suffix}.npy", m)
    return d


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The one-file plug-in package installed into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(PLUGIN)]
    res = subprocess.run([*cmd, "--no-build-isolation"], capture_output=True, text=True)
    if res.returncode:  # no setuptools in this environment: let pip fetch one for the build
        res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    return target


def _env(site: Path) -> dict:
    # the plug-in's folder on the path, and not the working folder (PYTHONSAFEPATH): topofd is the installed one
    return {**os.environ, "PYTHONSAFEPATH": "1", "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _cli(site: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "topofd.cli", *args], capture_output=True, text=True, env=_env(site))


def test_a_metric_installed_by_entry_point_shows_in_every_output(installed, tmp_path):
    real, synth = _layouts(tmp_path, "real", 0), _layouts(tmp_path, "synth", 1, "_gen")
    help_ = _cli(installed, "compare", "--help")
    assert help_.returncode == 0, help_.stderr
    flat = " ".join(help_.stdout.split())
    assert "--countgap-scale" in flat and "countgap (toy: gap between the sets' mean cell counts)" in flat
    out = tmp_path / "out"
    res = _cli(installed, "compare", str(real), str(synth), "--metrics", "toys,topokd", "--countgap-scale", "2",
               "--json", f"{out}.json", "--csv", f"{out}.csv", "--html", f"{out}.html", "--explain")
    assert res.returncode == 0, res.stderr
    assert "Count gap" in res.stdout.splitlines()[0] and "largest count gap is in class" in res.stdout
    rep = json.loads(Path(f"{out}.json").read_text())
    assert rep["mean"]["count_gap"] is not None and rep["meta"]["countgap"] == {"scale": 2.0}
    assert rep["meta"]["sections"]["countgap"][0]["table"][0]["class"] == "class1"
    assert "count_gap" in Path(f"{out}.csv").read_text().splitlines()[0]
    assert "gap" in Path(f"{out}.countgap.csv").read_text()
    page = Path(f"{out}.html").read_text()
    assert "Count gap" in page and "lower is better" in page and 'id="explain-countgap"' in page
    lb = _cli(installed, "leaderboard", f"{out}.json", "--no-published")
    assert lb.returncode == 0 and "Count gap" in lb.stdout, lb.stderr


_API = """
import numpy as np, topofd
rng = np.random.default_rng(3)
maps = (rng.random((12, 2, 32, 32)) > 0.97).astype(np.uint8)
ev = topofd.Evaluator(metrics="countgap", countgap_scale=3.0, pairing="none")
ev.update(maps, real=True)
ev.update(maps[::-1], real=False)
rep = ev.compute()
assert rep.meta["countgap"] == {"scale": 3.0} and np.isfinite(rep.table.loc["mean", "count_gap"])
try:
    topofd.Evaluator(metrics="countgap", countgap_scale=-1.0)
except ValueError as e:
    assert "countgap_scale" in str(e)
else:
    raise AssertionError("a negative scale was accepted")
print("ok")
"""


def test_the_plugin_option_is_an_api_keyword(installed):
    # in a process of its own: registering here would leave the metric in this session's registry
    res = subprocess.run([sys.executable, "-c", _API], capture_output=True, text=True, env=_env(installed))
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]
