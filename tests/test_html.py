"""One-file HTML report and leaderboard: content, escaping, self-containment,
the --html options, and rendering in a real browser (headless Chromium)."""
import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import topofd
from topofd.output import leaderboard as lb
from topofd import Report
from topofd.cli import cli
from topofd.cli.leaderboard import leaderboard as leaderboard_cmd
from topofd.output.html import leaderboard_html, report_html
from conftest import random_layouts

HOSTILE = '<img src=x onerror="alert(1)">&'


def _layouts(rng, n, tag, classes):
    return random_layouts(n, rng, classes, cells=(8, 14), high=40, shape=(40, 40), name="p{i}", suffix=tag)


@pytest.fixture(scope="module")
def report():
    """A real comparison (p-values included), with the uncertainty columns
    the convention allows made sure of, a metric the table may grow, and
    hostile user data."""
    rng = np.random.default_rng(1)
    classes = ("lym", HOSTILE)
    rep = topofd.compare(_layouts(rng, 12, "", classes), _layouts(rng, 12, "_gen", classes), permutations=10)
    t = rep.table
    for suffix, scale in (("se", 0.05), ("lo", 0.9), ("hi", 1.1)):
        if f"topofd_{suffix}" not in t:
            t[f"topofd_{suffix}"] = t["topofd"] * scale
    t["newscore"] = [0.25, np.nan, 0.125]
    t["newscore_se"] = [0.01, np.nan, 0.005]
    rep.meta["real"] = f"/data/{HOSTILE}/real"
    rep.meta["notes"].append(f"note about {HOSTILE}")
    rep.meta.setdefault("uncertainty", {"topofd": "patch bootstrap, 3 resamples"})
    return rep


class _Table(HTMLParser):
    """Rows of the first <table> as cell texts (header row included)."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell, self._depth, self._done = [], None, 0, False

    def handle_starttag(self, tag, attrs):
        if self._done:
            return
        if tag == "table":
            self._depth += 1
        elif tag == "tr" and self._depth == 1:
            self.rows.append([])
        elif tag in ("td", "th") and self._depth == 1:
            self._cell = []

    def handle_endtag(self, tag):
        if self._done:
            return
        if tag == "table":
            self._depth -= 1
            self._done = self._depth == 0
        elif tag in ("td", "th") and self._cell is not None and self._depth == 1:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def first_table(page: str) -> list[list[str]]:
    p = _Table()
    p.feed(page)
    return p.rows


def _text(html: str) -> str:
    """Visible text, tags dropped, entities kept as written."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_self_contained(page: str):
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for bad in ("http://", "https://", "//fonts", "url(", "@import", "<link", "<iframe"):
        assert bad not in page, bad
    for src in re.findall(r'\ssrc="([^"]*)"', page):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_page_content(report):
    page = report_html(report)
    assert_self_contained(page)
    text = _text(page)
    t = report.table
    rows = first_table(page)
    head, body = rows[0], {r[0]: r[1:] for r in rows[1:]}
    assert list(body) == ["lym", HOSTILE, "mean"]  # parsed text: the name shown as written
    col = head.index("TopoFD") - 1
    # value ± se [lo, hi], every number of the column in one format
    cells = [re.fullmatch(r"(-?[\d.]+) ± (-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]", body[r][col]) for r in body]
    assert all(cells), [body[r][col] for r in body]
    for m, r in zip(cells, body):
        for x, c in zip(m.groups(), ("topofd", "topofd_se", "topofd_lo", "topofd_hi")):
            assert float(x) == pytest.approx(t.at[r, c], abs=0.51 * 10.0 ** -len(x.partition(".")[2]))
    assert len({len(x.partition(".")[2]) for m in cells for x in m.groups()}) == 1
    assert body["mean"][head.index("MMD p") - 1] == "—"
    assert "MMD p" in text and "newscore" in text and "—" in text
    # class rows and the mean row
    assert text.count("mean") >= 1 and 'class="mean"' in page
    # figures: barycenters and landscapes per class, count scatter per class (paired run)
    assert page.count("<img ") == 6
    # provenance
    for s in ("protocol", "paper", "seed", "versions", "numpy", "real layouts", "uncertainty"):
        assert s in text, s
    for how in report.meta["uncertainty"].values():  # how each interval was computed
        if isinstance(how, str):
            assert html.escape(how) in page
    assert f"note about {HOSTILE}" not in page  # escaped, never raw


def test_user_data_is_escaped(report):
    page = report_html(report)
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in page
    assert "onerror=" not in page.replace("onerror=&quot;", "")


def test_generic_table_columns():
    """Columns the report table may carry, rendered by the naming convention
    alone: value ± se, [lo, hi], p-values, lone siblings, text, all-NaN."""
    idx = ["a", "b", "mean"]
    table = pd.DataFrame({
        "topofd": [194.0, 182.26, 188.125], "topofd_se": [1.5, 2.0, np.nan],
        "mmd": [0.0123, -0.0001, 0.0061], "mmd_lo": [0.001, -0.01, np.nan], "mmd_hi": [0.02, 0.01, np.nan],
        "mmd_p": [0.0004, 0.5, np.nan], "fancy": [np.nan] * 3, "orphan_se": [0.1, 0.2, np.nan],
        "tiny": [1e-6, 2e-6, 1.5e-6], "label": ["x", "y", None],
    }, index=idx)
    meta = {"protocol": "grid", "n_real": 3, "n_synth": 4, "seed": 7, "versions": {"python": "3.x"}, "notes": [],
            "uncertainty": {"topofd": "delta method", "mmd": {"kind": "bootstrap", "n": 200}}}
    rep = Report("grid", ("a", "b"), table, meta)
    page = report_html(rep)
    assert_self_contained(page)
    text = _text(page)
    assert "194.0" in text and "182.3" in text and "188.1" in text  # one precision for the whole column
    assert "± 1.5" in text and "± 2.0" in text
    assert "0.01230" in text and "-0.00010" in text and "[0.00100, 0.02000]" in text
    assert "&lt; 0.001" in page and "0.500" in text
    assert "1.000e-06" in text
    assert "orphan_se" in text and "fancy" in text
    assert "delta method" in text and "bootstrap" in text and "200" in text
    assert "<img" not in page  # no artifacts, no figures
    for head in ("TopoFD", "MMD", "MMD p", "label"):
        assert f">{head}</th>" in page


def _lb_report(path, method, topofd_mean, protocol="paper"):
    d = {"protocol": protocol, "classes": ["a", "b"],
         "per_class": [{"class": c, "topofd": topofd_mean, "mmd": 0.01, "cce": 0.5 * (i + 1)}
                       for i, c in enumerate("ab")],
         "mean": {"topofd": topofd_mean, "mmd": 0.01, "tce": 1.25},
         "meta": {"n_real": 10, "n_synth": 10, "test_set": "t", "method": method}}
    path.write_text(json.dumps(d))
    return path


def test_leaderboard_page(tmp_path):
    paths = [_lb_report(tmp_path / "a.json", HOSTILE, 5.5), _lb_report(tmp_path / "b.json", "random", 50.25),
             _lb_report(tmp_path / "c.json", "grid one", 7.0, protocol="grid")]
    tables = lb.build_tables(lb.load_reports(paths))
    df = tables[("paper", "t")]
    df["tie"] = [False, True]
    df.attrs["notes"] = [*df.attrs.get("notes", []), f"tied with {HOSTILE}"]
    page = leaderboard_html(tables)
    assert_self_contained(page)
    assert HOSTILE not in page
    text = _text(page)
    assert text.count("protocol paper") == 1 and text.count("protocol grid") == 1
    assert "random" in text and "grid one" in text and "recomputed" in text
    assert "tied with &lt;img" in page and ">yes<" in page and ">no<" in page
    assert "5.50" in text and "50.25" in text  # TopoFD column, one format
    assert leaderboard_html(df).count("<table>") == 1  # one ranking table (plus its key-value legend)
    assert leaderboard_html([df, df]).count("<section") == 2


# ----------------------------------------------------------------- the CLI
def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_error_line(res, code=1):
    assert res.exit_code == code, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    return lines[0]


@pytest.fixture
def fake_api(monkeypatch, report):
    calls = []

    def fake_compare(*a, **k):
        calls.append(1)
        return report

    fake = types.ModuleType("topofd.api")
    fake.compare = fake_compare
    monkeypatch.setitem(sys.modules, "topofd.api", fake)
    return calls


def _npy_dir(d: Path) -> Path:
    d.mkdir(parents=True)
    np.save(d / "x.npy", np.zeros((8, 8, 2), np.uint8))
    return d


def test_compare_html(tmp_path, fake_api):
    real = _npy_dir(tmp_path / "real")
    out = tmp_path / "r.html"
    res = run("compare", real, real, "--html", out, "--json", tmp_path / "r.json", "-q")
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.stderr
    assert_self_contained(out.read_text(encoding="utf-8"))
    assert not list(tmp_path.glob(".*tmp"))


def test_compare_html_bad_paths_fail_before_computing(tmp_path, fake_api):
    real = _npy_dir(tmp_path / "real")
    line = _one_error_line(run("compare", real, real, "--html", tmp_path / "nodir" / "r.html"))
    assert "--html" in line and "does not exist" in line
    (tmp_path / "adir").mkdir()
    res = run("compare", real, real, "--html", tmp_path / "adir")
    assert res.exit_code == 2 and "is a directory" in res.stderr
    res = run("compare", real, real, "--html", tmp_path / "same", "--json", tmp_path / "same")
    assert res.exit_code == 2 and "same file" in res.output
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        assert "permission denied" in _one_error_line(run("compare", real, real, "--html", ro / "r.html"))
    assert not fake_api
    assert not (tmp_path / "same").exists()


def test_demo_html(tmp_path, fake_api, monkeypatch, report):
    import topofd.layouts.brca_m2c

    monkeypatch.setattr(topofd.layouts.brca_m2c, "demo_sets", lambda *a, **k: ([None] * 6, [None] * 6))
    line = _one_error_line(run("demo", "--html", tmp_path / "nodir" / "d.html", "-q"))
    assert "--html" in line
    assert not fake_api
    res = run("demo", "--html", tmp_path / "d.html", "-q")
    assert res.exit_code == 0, res.output
    assert_self_contained((tmp_path / "d.html").read_text(encoding="utf-8"))


def test_leaderboard_html_option(tmp_path):
    a, b = _lb_report(tmp_path / "a.json", "m1", 1.0), _lb_report(tmp_path / "b.json", "m2", 2.0)
    res = CliRunner().invoke(leaderboard_cmd, [str(a), str(b), "--html", str(tmp_path / "nodir" / "b.html"),
                                                      "--md", str(tmp_path / "b.md")])
    assert res.exit_code == 1 and "--html" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "b.md").exists()  # refused before anything was written
    res = CliRunner().invoke(leaderboard_cmd, [str(a), str(b), "--html", str(tmp_path / "b.html")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "m1" in page and "m2" in page


# ------------------------------------------------------------- the browser
def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")


def _browser(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # no network, no first-run work, a throwaway profile: the render depends on the file alone
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", *args,
           page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def _screenshot(page: Path, tmp_path: Path, width: int, height: int) -> np.ndarray:
    from PIL import Image

    shot = tmp_path / f"shot_{width}.png"
    res = _browser(page, tmp_path, f"--screenshot={shot}", f"--window-size={width},{height}")
    assert res.returncode == 0 and shot.exists(), res.stderr.decode(errors="replace")[-2000:]
    with Image.open(shot) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def _assert_not_blank(a: np.ndarray, width: int, min_bands: int = 4):
    assert a.shape[1] == width
    ink = (a < 200).any(axis=2)
    assert a.std() > 15 and ink.mean() > 0.01, "blank page"
    # ink in several bands down the page: a title, a table, more below
    bands = np.array_split(ink, 6, axis=0)
    assert sum(b.mean() > 0.002 for b in bands) >= min_bands


@pytest.mark.parametrize("width,height", [(1280, 1600), (390, 1600)], ids=["desktop", "phone"])
def test_report_renders_in_chromium(report, tmp_path, width, height):
    page = tmp_path / "report.html"
    page.write_text(report_html(report), encoding="utf-8")
    a = _screenshot(page, tmp_path, width, height)
    _assert_not_blank(a, width)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    # the figures' blue (real) and red (synthetic) series are drawn, not broken images
    assert ((b > r + 60) & (b > g + 20)).sum() > 50
    assert ((r > g + 60) & (r > b + 60)).sum() > 50
    if width < 600:
        # the page itself never scrolls sideways: the right margin stays page background
        assert (a[:, -4:] > 240).all(axis=2).mean() > 0.95


def test_report_dom_in_chromium(report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report_html(report), encoding="utf-8")
    res = _browser(page, tmp_path, "--dump-dom")
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-2000:]
    dom = res.stdout.decode("utf-8")
    assert "<table" in dom and "TopoFD" in dom and "MMD p" in dom and ">lym</th>" in dom and "±" in dom
    mean_row = re.search(r'<tr class="mean">(.*?)</tr>', dom, re.S).group(1)
    tce = report.table.at["mean", "tce"]
    assert any(abs(float(x) - tce) <= 1e-3 * abs(tce) for x in re.findall(r"-?\d+\.?\d*", _text(mean_row)))
    assert HOSTILE not in dom and "<script" not in dom.lower()
    assert dom.count("<img ") == 6


def test_leaderboard_renders_in_chromium(tmp_path):
    paths = [_lb_report(tmp_path / f"{m}.json", m, v) for m, v in (("alpha", 1.0), ("beta", 2.0))]
    page = tmp_path / "board.html"
    page.write_text(leaderboard_html(lb.build_tables(lb.load_reports(paths))), encoding="utf-8")
    _assert_not_blank(_screenshot(page, tmp_path, 390, 700), 390, min_bands=2)
    dom = _browser(page, tmp_path, "--dump-dom").stdout.decode("utf-8")
    assert ">alpha</th>" in dom and ">beta</th>" in dom and "TopoFD" in dom
