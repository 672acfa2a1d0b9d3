"""Malformed layout files of every format through `topofd compare` (issue 13,
acceptance): exit 1 or 2, exactly one line on stderr, no traceback, no
warning, no output file.

Each example writes one layout file that is broken in a randomly drawn way
(random or truncated bytes, or a well-formed file with a bad value, shape,
key or nesting) next to a valid counterpart, on the real or the synthetic
side, and runs the command in-process.  The examples are the same on every
run (``derandomize``); ``TOPOFD_FUZZ_EXAMPLES=N`` draws N fresh ones.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import savemat

from topofd.cli import cli
from topofd.layouts.layout import Layout

H = W = 32
_N = os.environ.get("TOPOFD_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_N) if _N else 150, derandomize=not _N, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _valid_array() -> np.ndarray:
    pts = (np.array([[5.0, 5.0], [20.0, 12.0]]), np.array([[10.0, 25.0]]), np.zeros((0, 2)))
    return Layout(pts, ("a", "b", "c"), (H, W)).to_array()


def _npy_bytes(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _cut(data: bytes, draw) -> bytes:
    return data[: draw(st.integers(0, len(data) - 1))]


# ------------------------------------------------------------ per format
@st.composite
def bad_npy(draw):
    kind = draw(st.sampled_from(["bytes", "truncated", "nan", "negative", "grey", "multi", "ndim", "strings",
                                 "complex", "empty", "object", "zip-garbage", "npz-empty", "npz-bad"]))
    a = _valid_array()
    suffix = ".npz" if kind.startswith(("zip", "npz")) else draw(st.sampled_from([".npy", ".NPY"]))
    if kind == "bytes":
        data = draw(st.binary(max_size=300).filter(lambda b: not b.startswith((b"\x93NUMPY", b"PK"))))
    elif kind == "truncated":
        data = _cut(_npy_bytes(a), draw)
    elif kind == "zip-garbage":
        data = b"PK\x03\x04" + draw(st.binary(max_size=200))
    elif kind == "npz-empty":
        buf = io.BytesIO()
        np.savez(buf)
        data = buf.getvalue()
    elif kind == "object":
        data = _npy_bytes(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    else:
        if kind == "nan":
            a = a.astype(float)
            a[draw(st.integers(0, H - 1)), draw(st.integers(0, W - 1)), 0] = draw(st.sampled_from([np.nan, np.inf]))
        elif kind == "negative":
            a = a.astype(np.int16)
            a[draw(st.integers(0, H - 1)), draw(st.integers(0, W - 1)), 1] = -draw(st.integers(1, 300))
        elif kind == "grey":
            a = a.astype(float) * draw(st.floats(0.05, 0.95))
        elif kind == "multi":  # two ids in one channel, read without --instances
            a = a.astype(np.int32)
            a[19:22, 11:14, 0] = draw(st.integers(2, 10_000))
        elif kind == "ndim":
            a = draw(st.sampled_from([a[..., 0].ravel(), a[None, None], np.array(3)]))
        elif kind == "strings":
            a = np.array([["1", "0"], ["0", "1"]])
        elif kind == "complex":
            a = a.astype(np.complex64)
        elif kind == "empty":
            a = np.zeros(draw(st.sampled_from([(0, W, 3), (H, 0, 3), (H, W, 0)])), np.uint8)
        data = _npy_bytes(a)
        if kind == "npz-bad":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("layout.npy", _npy_bytes(a.astype(float) * 0.5))
            data = buf.getvalue()
    return suffix, data


def _png_bytes(img, mode=None, fmt="PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img, mode).save(buf, format=fmt)
    return buf.getvalue()


@st.composite
def bad_png(draw):
    kind = draw(st.sampled_from(["bytes", "truncated", "noise", "grey", "off-colour", "jpeg"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "bytes":
        data = draw(st.binary(max_size=300))
    elif kind == "truncated":  # cut inside the pixel data (a file cut after it still holds the whole image)
        full = _png_bytes((_valid_array() * 255).astype(np.uint8))
        start = full.index(b"IDAT") + 4
        n = int.from_bytes(full[start - 8: start - 4], "big")
        data = full[: draw(st.integers(0, start + n // 2))]
    elif kind == "noise":
        data = _png_bytes(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    elif kind == "grey":
        g = rng.integers(0, 256, (H, W), dtype=np.uint8)
        g[0, 0], g[0, 1] = 0, 255  # never one flat grey (a flat image is a blank layout)
        data = _png_bytes(g, "L")
    else:
        img = np.zeros((H, W, 3), np.uint8)
        img[_valid_array()[..., 0] == 1] = (255, 0, 0)
        img[_valid_array()[..., 1] == 1] = (0, 255, 0)
        if kind == "off-colour":
            off = rng.integers(1, 40, img.shape) * (img > 0) * np.where(img > 0, -1, 1)
            img = np.clip(img.astype(int) + off, 0, 255).astype(np.uint8)
            data = _png_bytes(img)
        else:
            data = _png_bytes(img, fmt="JPEG")
    return ".png", data


_CSV_BAD_ROWS = {  # one row that makes a point table unreadable, as its fields
    "non-numeric": lambda d: [d(st.sampled_from(["abc", "--", "0x1f", "1 2"])), "4", "a"],
    "nan": lambda d: [d(st.sampled_from(["nan", "inf", "-inf", "1e999"])), "4", "a"],
    "empty-class": lambda d: ["3", "4", ""],
    "negative": lambda d: [f"-{d(st.integers(1, 10**6))}", "4", "a"],
    "off-canvas": lambda d: [str(d(st.integers(W + 1, 10**6))), "4", "a"],
    "ragged": lambda d: ["3", "4", "a", "5", "6", "7"],
    "short": lambda d: ["3"],
    "class-zero": lambda d: ["3", "4", "0"],
    "class-huge": lambda d: ["3", "4", str(d(st.integers(10**7, 10**40)))],
}


@st.composite
def bad_csv(draw):
    kind = draw(st.sampled_from(sorted(_CSV_BAD_ROWS) + ["binary"]))
    sep = draw(st.sampled_from([",", "\t"]))
    suffix = ".csv" if sep == "," else ".tsv"
    ints = kind in ("class-zero", "class-huge")
    rows = [["x", "y", "class"]] + [
        [str(draw(st.integers(0, W))), str(draw(st.integers(0, H))), str(draw(st.integers(1, 3))) if ints else "a"]
        for _ in range(draw(st.integers(0, 5)))]
    if kind == "binary":
        rows.append(["3", "4", "\udcff\udcfe" + "".join(draw(st.lists(st.sampled_from("ab\x00"), max_size=5)))])
    else:
        rows.insert(draw(st.integers(1, len(rows))), _CSV_BAD_ROWS[kind](draw))
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    return suffix, text.encode("utf-8", "surrogateescape")


@st.composite
def bad_txt(draw):
    kind = draw(st.sampled_from(["columns", "non-numeric", "nan", "class", "negative", "off-canvas", "binary"]))
    good = [f"{draw(st.integers(0, H))} {draw(st.integers(0, W))} {draw(st.integers(1, 3))}"
            for _ in range(draw(st.integers(0, 5)))]
    bad = {
        "columns": lambda: " ".join(["3"] * draw(st.sampled_from([1, 2, 4, 5]))),
        "non-numeric": lambda: draw(st.sampled_from(["a b c", "1 2 x", "1,2,3 4"])),
        "nan": lambda: draw(st.sampled_from(["nan 2 1", "2 inf 1", "1e999 2 1"])),
        "class": lambda: f"3 4 {draw(st.sampled_from(['0', '4', '2.5', '-1', '1e300']))}",
        "negative": lambda: f"-{draw(st.integers(1, 999))} 4 1",
        "off-canvas": lambda: f"3 {draw(st.integers(W + 1, 10**9))} 1",
    }
    if kind == "binary":
        data = b"3 4 1\n\xff\xfe" + draw(st.binary(max_size=50))
    else:
        rows = list(good)
        rows.insert(draw(st.integers(0, len(rows))), bad[kind]())
        data = ("\n".join(rows) + "\n").encode()
    return "_gt_class_coords.txt", data


def _feature(geom, props):
    return {"type": "Feature", "geometry": geom, "properties": props}


_OK_PROPS = {"classification": {"name": "a"}}


@st.composite
def bad_geojson(draw):
    kind = draw(st.sampled_from(["bytes", "truncated", "deep", "properties", "no-geometry", "coordinates",
                                 "geometry-type", "unclassified", "non-finite", "huge-int", "negative",
                                 "features-not-list"]))
    if kind == "bytes":
        return ".geojson", draw(st.binary(max_size=200).filter(lambda b: not b.strip().startswith((b"[", b"{"))))
    ok = [_feature({"type": "Point", "coordinates": [3, 4]}, _OK_PROPS)]
    if kind == "truncated":
        data = json.dumps({"type": "FeatureCollection", "features": ok * 3}).encode()
        return draw(st.sampled_from([".geojson", ".json"])), _cut(data, draw)
    if kind == "deep":
        n = draw(st.integers(5_000, 100_000))
        return draw(st.sampled_from([".geojson", ".json"])), ("[" * n + "]" * n).encode()
    if kind == "features-not-list":
        doc = {"type": "FeatureCollection", "features": draw(st.sampled_from([None, 3, "x", {"a": 1}, [1, 2]]))}
        return ".geojson", json.dumps(doc).encode()
    geom, props = {"type": "Point", "coordinates": [3, 4]}, dict(_OK_PROPS)
    if kind == "properties":
        props = draw(st.sampled_from(["Tumor", 3, [1, 2], True, ""]))
    elif kind == "no-geometry":
        geom = draw(st.sampled_from([None, "Point", 3, {"coordinates": [1, 2]}]))
    elif kind == "coordinates":  # (an empty MultiPoint is valid: no cells)
        t = draw(st.sampled_from(["Point", "MultiPoint", "Polygon", "MultiPolygon"]))
        bad = [None, "ab", {"x": 1}, [[]], [[["a", "b"]]], 7, [[1]]] + ([] if t == "MultiPoint" else [[]])
        geom = {"type": t, "coordinates": draw(st.sampled_from(bad))}
    elif kind == "geometry-type":
        geom = {"type": draw(st.sampled_from(["LineString", "Circle", 3, ["Point"], None])), "coordinates": [1, 2]}
    elif kind == "unclassified":
        props = draw(st.sampled_from([{}, {"classification": None}, {"classification": {"name": 3}},
                                      {"classification": "  "}, None]))
    elif kind == "non-finite":
        return ".geojson", b'[{"type": "Feature", "geometry": {"type": "Point", "coordinates": [' + \
            draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400"])) + \
            b', 4]}, "properties": {"classification": {"name": "a"}}}]'
    elif kind == "huge-int":
        geom = {"type": "Point", "coordinates": [draw(st.integers(10**309, 10**400)), 4]}
    elif kind == "negative":
        geom = {"type": "Point", "coordinates": [-draw(st.integers(1, 10**6)), 4]}
    feats = ok * draw(st.integers(0, 3))
    feats.insert(draw(st.integers(0, len(feats))), _feature(geom, props))
    doc = draw(st.sampled_from([feats, {"type": "FeatureCollection", "features": feats}]))
    return draw(st.sampled_from([".geojson", ".json"])), json.dumps(doc).encode()


def _mat_bytes(d) -> bytes:
    buf = io.BytesIO()
    savemat(buf, d)
    return buf.getvalue()


@st.composite
def bad_mat(draw):
    kind = draw(st.sampled_from(["bytes", "truncated", "keys", "shape", "strings", "class", "nan", "negative",
                                 "off-canvas", "lengths", "inst-map"]))
    good = {"inst_map": np.zeros((H, W), np.int32), "centroid": np.array([[3.0, 4.0], [10.0, 12.0]]),
            "class": np.array([[1], [2]], np.int32)}
    if kind == "bytes":
        return ".mat", draw(st.binary(max_size=300))
    if kind == "truncated":
        return ".mat", _cut(_mat_bytes(good), draw)
    d = dict(good)
    if kind == "keys":
        d.pop(draw(st.sampled_from(["centroid", "class"])))
    elif kind == "shape":
        d["centroid"] = draw(st.sampled_from([np.zeros((2, 3)), np.zeros(5), np.zeros((2, 2, 2))]))
    elif kind == "strings":
        d[draw(st.sampled_from(["centroid", "class"]))] = draw(st.sampled_from(["ab", np.array(["x", "y"])]))
    elif kind == "class":
        d["class"] = np.array([[1], [draw(st.sampled_from([0, 7, -3, 1e300, 2.5, np.nan]))]])
    elif kind == "nan":
        d["centroid"] = np.array([[3.0, np.nan], [10.0, 12.0]])
    elif kind == "negative":
        d["centroid"] = np.array([[3.0, 4.0], [-float(draw(st.integers(1, 10**6))), 12.0]])
    elif kind == "off-canvas":
        d["centroid"] = np.array([[3.0, 4.0], [float(draw(st.integers(W + 1, 10**6))), 12.0]])
    elif kind == "lengths":
        d["class"] = np.array([[1], [2], [3]], np.int32)
    elif kind == "inst-map":
        d["inst_map"] = np.int32(5)
    return ".mat", _mat_bytes(d)


BAD = {"npy": bad_npy(), "png": bad_png(), "csv": bad_csv(), "txt": bad_txt(), "geojson": bad_geojson(),
       "mat": bad_mat()}


# ------------------------------------------------------------------ the property
def _run(args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = CliRunner().invoke(cli, [str(a) for a in args])
    return res, [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]


def _assert_one_error_line(res, caught, out: Path):
    assert res.exit_code in (1, 2), (res.exit_code, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("topofd: error: ", "Error: ")), res.stderr
    assert "Traceback" not in res.output
    assert not caught, [str(w.message) for w in caught]
    assert not list(out.iterdir()), list(out.iterdir())


@FUZZ
@given(fmt=st.sampled_from(sorted(BAD)), data=st.data(), real_side=st.booleans())
def test_malformed_file_is_one_error_line(fmt, data, real_side):
    suffix, payload = data.draw(BAD[fmt], label=fmt)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        real, synth, out = tmp / "real", tmp / "synth", tmp / "out"
        for d in (real, synth, out):
            d.mkdir()
        good = _valid_array()
        if real_side:
            (real / f"p0{suffix}").write_bytes(payload)
            np.save(synth / "p0_gen.npy", good)
        else:
            np.save(real / "p0.npy", good)
            (synth / f"p0_gen{suffix}").write_bytes(payload)
        res, caught = _run(["compare", real, synth, "--metrics", "counts", "--canvas", f"{H}x{W}", "-q",
                            "--json", out / "r.json", "--csv", out / "t.csv"])
        _assert_one_error_line(res, caught, out)


def test_deeply_nested_json_subprocess(tmp_path):
    """As a user runs it (a subprocess): one error line; with --skip-bad the
    file is skipped and the empty set is the error (after the skip warning)."""
    real, synth = tmp_path / "real", tmp_path / "synth"
    real.mkdir()
    synth.mkdir()
    np.save(real / "p0.npy", _valid_array())
    (synth / "p0_gen.json").write_text("[" * 100_000 + "]" * 100_000)
    exe = [sys.executable, "-c", "from topofd.cli import main; main()"]
    for extra in ([], ["--skip-bad"]):
        out = subprocess.run(exe + ["compare", str(real), str(synth), "-q", "--json", str(tmp_path / "r.json"),
                                    *extra], capture_output=True, text=True, timeout=120)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert lines[-1].startswith("topofd: error: ")
        if not extra:
            assert len(lines) == 1 and "p0_gen.json: JSON nested too deeply" in lines[0]
        assert not (tmp_path / "r.json").exists()


# ----------------------------------------------- issue 20: unusual but valid inputs
def _csv(path: Path, rows) -> None:
    path.write_text("x,y,class\n" + "".join(f"{x},{y},{c}\n" for x, y, c in rows))


def test_dangling_symlink_is_an_error_line_and_skipped_with_skip_bad(tmp_path):
    real, synth, out = tmp_path / "real", tmp_path / "synth", tmp_path / "out"
    for d in (real, synth, out):
        d.mkdir()
    np.save(real / "p0.npy", _valid_array())
    np.save(synth / "p0_gen.npy", _valid_array())
    (real / "p1.npy").symlink_to(tmp_path / "gone.npy")
    res, caught = _run(["compare", real, synth, "--metrics", "counts", "-q", "--json", out / "r.json"])
    _assert_one_error_line(res, caught, out)
    assert "p1.npy" in res.stderr and "broken symbolic link" in res.stderr
    res, _ = _run(["compare", real, synth, "--metrics", "counts", "-q", "--skip-bad"])
    assert res.exit_code == 0 and "p1.npy" in res.stderr


def test_duplicate_point_rows_are_kept_once_with_a_note(tmp_path):
    real, synth = tmp_path / "real", tmp_path / "synth"
    real.mkdir()
    synth.mkdir()
    _csv(real / "p0.csv", [(5, 5, "a"), (20, 12, "a"), (25, 10, "b")])
    _csv(synth / "p0_gen.csv", [(5, 5, "a")] * 4 + [(25, 10, "b")])
    res, _ = _run(["compare", real, synth, "--metrics", "counts", "--canvas", f"{H}x{W}", "-q"])
    assert res.exit_code == 0, res.output
    assert "p0_gen.csv: 3 duplicate cell row(s)" in res.stdout
    lines = [ln.split() for ln in res.stdout.splitlines()]
    assert float(next(ln for ln in lines if ln and ln[0] == "a")[1]) == 1.0  # 2 real vs 1 synthetic cell, not 4


def test_one_cell_layouts_say_nothing_was_measured(tmp_path):
    real, synth = tmp_path / "real", tmp_path / "synth"
    real.mkdir()
    synth.mkdir()
    for i in range(3):
        _csv(real / f"p{i}.csv", [(3 + i, 4, "a")])
        _csv(synth / f"p{i}_gen.csv", [(9, 2 + i, "a")])
    res, _ = _run(["compare", real, synth, "--metrics", "topofd,topokd", "--canvas", f"{H}x{W}", "-q"])
    assert res.exit_code == 0, res.output
    assert "no H1 feature" in res.stdout and "0.00 ± 0.00" not in res.stdout


def test_list_options_as_strings_in_the_api(tmp_path):
    import topofd

    maps = np.stack([_valid_array() for _ in range(3)])
    ev = topofd.Evaluator(classes="lym,epi,stro", metrics="counts,topokd", uncertainty=False)
    ev.update(maps, real=True)
    ev.update(maps, real=False)
    rep = ev.compute()
    assert rep.classes == ("lym", "epi", "stro") and {"cce", "topokd"} <= set(rep.table.columns)
