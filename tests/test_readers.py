"""Every reader gives the same Layout as the .npy of the same layouts, and a
clear ValueError naming the file on a corrupt one."""
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from topofd.layouts.sets import READERS, read_layouts
from topofd.layouts.layout import Layout
from topofd.layouts.readers import brca, geojson, mat, npy, png, points

CLASSES = ("lym", "epi", "stro")
H, W = 64, 80


def _isolated_layout_arrays(n_layouts=3, seed=0):
    """(H, W, 3) uint8 arrays with 3x3 cells that touch nothing (no other
    cell, no border), so every format holds the same centres exactly."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_layouts):
        a = np.zeros((H, W, 3), np.uint8)
        taken = np.zeros((H, W), bool)
        for _ in range(40):
            r, c = rng.integers(3, H - 3), rng.integers(3, W - 3)
            if taken[r - 2 : r + 3, c - 2 : c + 3].any():
                continue
            taken[r - 2 : r + 3, c - 2 : c + 3] = True
            a[r - 1 : r + 2, c - 1 : c + 2, rng.integers(0, 3)] = 1
        out.append(a)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("npy")
    arrays = _isolated_layout_arrays()
    for i, a in enumerate(arrays):
        np.save(d / f"lay{i}.npy", a)
    layouts, skipped = read_layouts(d, classes=CLASSES)
    assert not skipped and len(layouts) == 3
    assert all(l.counts.sum() > 10 for l in layouts)
    return arrays, layouts


def _same(a: Layout, b: Layout, shape=True):
    assert a.classes == b.classes
    assert a.name == b.name
    assert np.array_equal(a.counts, b.counts)
    for p, q in zip(a.points, b.points):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-9)
    if shape:
        assert a.shape == b.shape


def _rows(lay: Layout):
    """(row, col, 0-based class) of every cell, in class then file order."""
    return [(r, c, k) for k, p in enumerate(lay.points) for r, c in p]


def _check_folder(d, reference, fmt, shape=True, **opts):
    _, ref = reference
    got, skipped = read_layouts(d, classes=CLASSES, **opts)
    assert not skipped
    assert len(got) == len(ref)
    for a, b in zip(ref, got):
        _same(a, b, shape)
    # format named explicitly gives the same
    got2, _ = read_layouts(d, classes=CLASSES, format=fmt, **opts)
    for a, b in zip(got, got2):
        _same(a, b, shape)


def test_npz_and_channels_first(tmp_path, reference):
    arrays, ref = reference
    for i, a in enumerate(arrays):
        np.savez(tmp_path / f"lay{i}.npz", layout=np.moveaxis(a, -1, 0))
    _check_folder(tmp_path, reference, "npy")


def test_png(tmp_path, reference):
    from PIL import Image

    arrays, _ = reference
    colors = [png.parse_color(c) for c in png.PALETTE[:3]]
    for i, a in enumerate(arrays):
        img = np.zeros((H, W, 3), np.uint8)
        for k in range(3):
            img[a[..., k] == 1] = colors[k]
        Image.fromarray(img).save(tmp_path / f"lay{i}.png")
    _check_folder(tmp_path, reference, "png")
    # an explicit colour map, given by name, in another order, with alpha
    for i, a in enumerate(arrays):
        img = np.zeros((H, W, 4), np.uint8)
        for k, col in enumerate([(255, 255, 255), (0, 128, 255), (200, 10, 10)]):
            img[a[..., k] == 1] = col + (255,)
        Image.fromarray(img, "RGBA").save(tmp_path / f"lay{i}.png")
    _check_folder(tmp_path, reference, "png", colors="stro=#c80a0a,lym=white,epi=#0080ff")


def test_png_colour_options():
    assert png.class_colors(None, None) == (("class1", "class2", "class3"), [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    names, cols = png.class_colors(None, "a=#f00,b=blue")
    assert names == ("a", "b") and cols == [(255, 0, 0), (0, 0, 255)]
    with pytest.raises(ValueError, match="no colour given"):
        png.class_colors(("a", "c"), "a=#f00,b=blue")
    with pytest.raises(ValueError, match="share a colour"):
        png.class_colors(None, "#f00,red")
    with pytest.raises(ValueError, match="not a colour"):
        png.parse_colors("a=notacolour")


@pytest.mark.parametrize("suffix,by_name", [(".csv", True), (".tsv", False)])
def test_point_tables(tmp_path, reference, suffix, by_name):
    _, ref = reference
    sep = "," if suffix == ".csv" else "\t"
    for lay in ref:
        lines = [sep.join(["X", "Y", "cell_type"])]
        for r, c, k in _rows(lay):
            lines.append(sep.join([repr(float(c)), repr(float(r)), CLASSES[k] if by_name else str(k + 1)]))
        (tmp_path / f"{lay.name}{suffix}").write_text("\n".join(lines) + "\n")
    got, _ = read_layouts(tmp_path, classes=CLASSES, class_col="cell_type", shape=(H, W))
    for a, b in zip(ref, got):
        _same(a, b)


def test_point_table_class_inference_aligns_folder(tmp_path):
    (tmp_path / "a.csv").write_text("x,y,class\n1.5,2,tumour\n3,4,lymph\n")
    (tmp_path / "b.csv").write_text("x,y,class\n5,6,lymph\n")
    (tmp_path / "c.csv").write_text("x,y,class\n")
    lays, _ = read_layouts(tmp_path)
    assert [l.classes for l in lays] == [("lymph", "tumour")] * 3
    assert [list(l.counts) for l in lays] == [[1, 1], [1, 0], [0, 0]]
    np.testing.assert_array_equal(lays[0].points[1], [[2.0, 1.5]])  # (row, col) = (y, x)
    (tmp_path / "c.csv").write_text("x,y,class\n5,6,3\n")
    (tmp_path / "b.csv").write_text("x,y,class\n5,6,1\n")
    (tmp_path / "a.csv").unlink()
    lays, _ = read_layouts(tmp_path)
    assert [l.classes for l in lays] == [("class1", "class2", "class3")] * 2


def test_point_table_errors(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("x,y,kind\n1,2,a\n")
    with pytest.raises(ValueError, match=r"t\.csv: no column 'class'"):
        points.read(f)
    f.write_text("x,y,class\n1,abc,a\n")
    with pytest.raises(ValueError, match=r"t\.csv: non-numeric"):
        points.read(f)
    f.write_text("x,y,class\n1,2,4\n")
    with pytest.raises(ValueError, match=r"t\.csv: class 4 but only 3"):
        points.read(f, CLASSES)
    f.write_text("x,y,class\n1,2,neutro\n")
    with pytest.raises(ValueError, match=r"'neutro' not in lym"):
        points.read(f, CLASSES)


def test_brca_txt(tmp_path, reference):
    _, ref = reference
    for lay in ref:
        lines = [f"{int(r)} {int(c)} {k + 1}" for r, c, k in _rows(lay)]
        assert all(float(x).is_integer() for r, c, _ in _rows(lay) for x in (r, c))
        (tmp_path / f"{lay.name}{brca.SUFFIX}.txt").write_text("\n".join(lines) + "\n")
    got, _ = read_layouts(tmp_path, shape=(H, W))  # classes default to BRCA-M2C's
    for a, b in zip(ref, got):
        _same(a, b)
    assert got[0].classes == CLASSES and got[0].name == "lay0"


def _square(r, c, half=1.5):
    x0, x1, y0, y1 = c - half, c + half, r - half, r + half
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


@pytest.mark.parametrize("geometry", ["Point", "Polygon", "MultiPolygon"])
def test_geojson(tmp_path, reference, geometry):
    _, ref = reference
    for lay in ref:
        feats = []
        for r, c, k in _rows(lay):
            if geometry == "Point":
                g = {"type": "Point", "coordinates": [float(c), float(r)]}
            elif geometry == "Polygon":
                g = {"type": "Polygon", "coordinates": [_square(r, c)]}
            else:  # a cell in two disjoint equal parts, placed symmetrically about its centre
                g = {"type": "MultiPolygon", "coordinates": [[_square(r - 0.25, c - 5, 0.5)], [_square(r + 0.25, c + 5, 0.5)]]}
            feats.append({"type": "Feature", "geometry": g,
                          "properties": {"objectType": "detection", "classification": {"name": CLASSES[k], "color": [0, 0, 0]}}})
        doc = {"type": "FeatureCollection", "features": feats} if geometry != "Point" else feats
        (tmp_path / f"{lay.name}.geojson").write_text(json.dumps(doc))
    got, _ = read_layouts(tmp_path, classes=CLASSES, shape=(H, W))
    for a, b in zip(ref, got):
        _same(a, b)


def test_geojson_polygon_centroid_is_area_weighted():
    # an L shape: 2x1 bar plus 1x1 square; centroid is not the vertex mean
    L = [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]
    x, y = geojson.polygon_centroid([[L]])
    assert (x, y) == pytest.approx((5 / 6, 5 / 6))
    # clockwise orientation and a hole are handled
    outer = [[0, 0], [0, 4], [4, 4], [4, 0], [0, 0]]
    hole = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
    x, y = geojson.polygon_centroid([[outer, hole]])
    assert (x, y) == pytest.approx(((16 * 2 - 4 * 1) / 12, (16 * 2 - 4 * 1) / 12))


def test_geojson_unclassified_and_multipoint(tmp_path):
    f = tmp_path / "q.geojson"
    f.write_text(json.dumps({"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]},
                             "properties": {"classification": "Tumor"}}))
    lay = geojson.read(f)
    assert lay.classes == ("Tumor",) and lay.points[0].tolist() == [[2, 1], [4, 3]]
    f.write_text(json.dumps([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
                              "properties": {}}]))
    with pytest.raises(ValueError, match=r"q\.geojson: feature 0 has no properties\.classification\.name"):
        geojson.read(f)


@pytest.mark.parametrize("key,tkey", [("inst_centroid", "inst_type"), ("centroid", "class")])
def test_mat(tmp_path, reference, key, tkey):
    _, ref = reference
    for lay in ref:
        rows = _rows(lay)
        savemat(tmp_path / f"{lay.name}.mat", {
            "inst_map": np.zeros((H, W), np.int32),
            key: np.array([[c, r] for r, c, _ in rows], dtype=np.float64),
            tkey: np.array([[k + 1] for _, _, k in rows], dtype=np.int32),
        })
    got, _ = read_layouts(tmp_path, classes=CLASSES)
    for a, b in zip(ref, got):
        _same(a, b)
    default = mat.read(tmp_path / "lay0.mat")
    assert default.classes == (mat.CONSEP_CLASSES if tkey == "inst_type" else mat.LIZARD_CLASSES)


CORRUPT = {
    "npy": ("bad.npy", b"\x93NUMPY garbage"),
    "npz": ("bad.npz", b"PK\x03\x04 not a zip"),
    "png": ("bad.png", b"\x89PNG\r\n\x1a\n truncated"),
    "csv": ("bad.csv", b"x,y,class\n1,2\n3,4,a,5,6\n\x00\xff"),
    "txt": ("bad_gt_class_coords.txt", b"12 34\nnot numbers here\n"),
    "geojson": ("bad.geojson", b'{"type": "FeatureCollection", "features": [ '),
    "mat": ("bad.mat", b"MATLAB 5.0 MAT-file garbage" + bytes(200)),
}


@pytest.mark.parametrize("fmt", sorted(CORRUPT))
def test_corrupt_file_names_it(tmp_path, fmt):
    name, data = CORRUPT[fmt]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError) as e:
        read_layouts(tmp_path)
    msg = str(e.value)
    assert name in msg and "\n" not in msg
    # --skip-bad: skipped with its reason; the folder then has no readable layout
    layouts, skipped = read_layouts(tmp_path, skip_bad=True)
    assert layouts == [] and len(skipped) == 1 and name in skipped[0]


def test_every_format_has_a_reader_and_suffixes():
    assert set(READERS) == {"npy", "png", "csv", "txt", "geojson", "mat", "json", "h5ad"}
    for mod in READERS.values():
        assert mod.SUFFIXES and callable(mod.read)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_layouts(tmp_path / "missing")
    with pytest.raises(ValueError, match="no layout files"):
        read_layouts(tmp_path)
    (tmp_path / "notes.md").write_text("hi")
    with pytest.raises(ValueError, match="no layout files"):
        read_layouts(tmp_path)
    with pytest.raises(ValueError, match="unknown format"):
        read_layouts(tmp_path, format="tiff")
    with pytest.raises(ValueError, match="unknown reader option"):
        read_layouts(tmp_path, colours="red")


# ------------------------------------------------ masks vs instance labels (issue 13, item 3)
def _blobs(value=1, dtype=np.uint8):
    """(H, W, 3): channel 1 two 2x2 cells, channel 2 one 3x3 cell, channel 3 empty."""
    a = np.zeros((H, W, 3), dtype)
    a[2:4, 2:4, 0] = value
    a[10:12, 20:22, 0] = value
    a[30:33, 40:43, 1] = value
    return a


@pytest.mark.parametrize("value,dtype", [(255, np.uint8), (7, np.int32), (True, bool), (1, np.float32)])
def test_two_valued_arrays_are_masks(tmp_path, value, dtype):
    ref = Layout.from_array(_blobs(1))
    f = tmp_path / "m.npy"
    np.save(f, _blobs(value, dtype))
    lay = npy.read(f)
    assert lay.counts.tolist() == [2, 1, 0]
    for p, q in zip(lay.points, ref.points):
        assert np.array_equal(p, q)  # the same centres, bit for bit, as the 0/1 mask


def test_several_values_need_the_instance_option(tmp_path):
    a = _blobs(1, np.int32)
    a[10:12, 20:22, 0] = 2  # two instance ids in channel 1
    a[30:32, 40:43, 1] = 3  # one cell of channel 2 holding two ids
    f = tmp_path / "inst.npy"
    np.save(f, a)
    with pytest.raises(ValueError, match=r"inst\.npy: channel 1 holds 2 different non-zero values.*--instances"):
        npy.read(f)
    lay = npy.read(f, labels="instance")
    assert lay.counts.tolist() == [2, 2, 0]  # ids, not connected components
    lays, _ = read_layouts(tmp_path, labels="instance")
    assert lays[0].counts.tolist() == [2, 2, 0]
    with pytest.raises(ValueError, match="exclude each other"):
        Layout.from_array(a, labels="instance", threshold=0)
    g = np.full((4, 4, 2), 0.5)  # grey levels: still a threshold's job
    with pytest.raises(ValueError, match="not binary"):
        Layout.from_array(g)
    assert Layout.from_array(g, threshold=0.2).counts.tolist() == [1, 1]


def test_instances_flag_of_the_cli(tmp_path):
    from click.testing import CliRunner

    from topofd.cli import cli

    a = _blobs(1, np.int32)
    a[10:12, 20:22, 0] = 2
    (tmp_path / "r").mkdir()
    np.save(tmp_path / "r" / "p0.npy", a)
    res = CliRunner().invoke(cli, ["baseline", "shuffle", str(tmp_path / "r"), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1 and "--instances" in res.stderr and not (tmp_path / "o").exists()
    res = CliRunner().invoke(cli, ["baseline", "shuffle", str(tmp_path / "r"), "--out", str(tmp_path / "o"),
                                   "--instances", "-q"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["baseline", "shuffle", str(tmp_path / "r"), "--out", str(tmp_path / "o"),
                                   "--instances", "--threshold", "0"])
    assert res.exit_code == 2 and "--instances" in res.stderr


def test_npz_suffix_in_any_case(tmp_path):
    for name in ("a.NPZ", "b.Npz", "c.npy"):  # c: an archive under a .npy name
        with open(tmp_path / name, "wb") as fh:
            np.savez(fh, layout=_blobs(1))
    lays, skipped = read_layouts(tmp_path)
    assert not skipped and [l.name for l in lays] == ["a", "b", "c"]
    assert all(l.counts.tolist() == [2, 1, 0] for l in lays)


def test_empty_array_axes_are_errors(tmp_path):
    for shape in [(0, 5, 3), (5, 5, 0), (0, 0)]:
        with pytest.raises(ValueError, match="empty axis"):
            Layout.from_array(np.zeros(shape, np.uint8))


# --------------------------------------- inputs that would read as empty layouts (item 4)
def _png(path, img, mode=None, **kw):
    from PIL import Image

    Image.fromarray(img, mode).save(path, **kw)


def _drawn(colours=((255, 0, 0), (0, 255, 0))):
    img = np.zeros((H, W, 3), np.uint8)
    img[5:8, 5:8] = colours[0]
    img[20:25, 30:36] = colours[1]
    return img


def test_png_without_class_colours_is_an_error(tmp_path):
    f = tmp_path / "p.png"
    _png(f, _drawn(((250, 10, 10), (10, 240, 0))))  # off-colour
    with pytest.raises(ValueError, match=r"p\.png: .*within 48 levels of a class colour but only 0"):
        png.read(f)
    _png(f, _drawn(((200, 100, 0), (100, 0, 200))))  # other colours
    with pytest.raises(ValueError, match=r"p\.png: no pixel has a class colour .*pass --colors"):
        png.read(f)
    _png(f, (_drawn().max(axis=-1) > 0).astype(np.uint8) * 255, "L")  # greyscale mask
    with pytest.raises(ValueError, match=r"greyscale image \(mode L\)"):
        png.read(f)
    assert png.read(f, colors="#ffffff").counts.tolist() == [2]  # read as what it is
    _png(f, _drawn(), format="JPEG", quality=90)  # a JPEG under a .png name
    with pytest.raises(ValueError, match=r"p\.png: .*(JPEG|no pixel has a class colour)"):
        png.read(f)


def test_png_lossy_copy_is_an_error(tmp_path):
    img = _drawn()
    img[40:50, 40:60] = (255, 0, 0)  # a large cell: its interior survives compression nearly exactly
    rng = np.random.default_rng(0)
    cell = img.max(axis=-1, keepdims=True) > 0
    noisy = np.clip(img.astype(int) + rng.integers(-6, 7, img.shape) * cell, 0, 255).astype(np.uint8)
    _png(tmp_path / "n.png", noisy)
    with pytest.raises(ValueError, match=r"n\.png: \d+ pixels lie within 48 levels .*lossy compression"):
        png.read(tmp_path / "n.png")
    _png(tmp_path / "ok.png", img)
    assert png.read(tmp_path / "ok.png").counts.tolist() == [2, 1, 0]


def test_blank_png_is_an_empty_layout(tmp_path):
    _png(tmp_path / "b.png", np.zeros((H, W, 3), np.uint8))
    lay = png.read(tmp_path / "b.png")
    assert lay.counts.tolist() == [0, 0, 0] and lay.shape == (H, W)


def test_threshold_that_removes_every_pixel(tmp_path):
    a = _blobs(1).astype(np.float32) * 0.4
    for i in range(2):
        np.save(tmp_path / f"p{i}.npy", a)
    assert [l.counts.tolist() for l in read_layouts(tmp_path, threshold=0.3)[0]] == [[2, 1, 0]] * 2
    with pytest.raises(ValueError, match=r"no cell in any of its 2 arrays with threshold 0\.5"):
        read_layouts(tmp_path, threshold=0.5)


def test_lizard_class_without_cells_is_an_empty_class(tmp_path):
    # no neutrophil (1) nor eosinophil (5) anywhere in the folder
    for i in range(2):
        savemat(tmp_path / f"img{i}.mat", {"inst_map": np.zeros((H, W), np.int32),
                                           "centroid": np.array([[3.0, 4.0], [10.0, 20.0], [30.0, 5.0]]),
                                           "class": np.array([[2], [3], [6]], np.int32)})
    lays, _ = read_layouts(tmp_path)
    assert all(l.classes == mat.LIZARD_CLASSES for l in lays)
    assert [l.counts.tolist() for l in lays] == [[0, 1, 1, 0, 0, 1]] * 2


# -------------------------------------------------- coordinates off the canvas (item 7)
@pytest.mark.parametrize("fmt", ["csv", "txt", "geojson", "mat"])
@pytest.mark.parametrize("where", ["negative", "beyond"])
def test_coordinates_off_the_canvas_are_errors(tmp_path, fmt, where):
    x, y = (-2.0, 5.0) if where == "negative" else (W + 7.0, 5.0)
    cells = [(3.0, 4.0, 1), (x, y, 2)]  # (x, y, 1-based class)
    if fmt == "csv":
        f = tmp_path / "a.csv"
        f.write_text("x,y,class\n" + "".join(f"{a},{b},{k}\n" for a, b, k in cells))
    elif fmt == "txt":
        f = tmp_path / f"a{brca.SUFFIX}.txt"
        f.write_text("".join(f"{b:g} {a:g} {k}\n" for a, b, k in cells))
    elif fmt == "geojson":
        f = tmp_path / "a.geojson"
        f.write_text(json.dumps([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [a, b]},
                                  "properties": {"classification": {"name": str(k)}}} for a, b, k in cells]))
    else:
        f = tmp_path / "a.mat"
        savemat(f, {"inst_map": np.zeros((H, W), np.int32), "centroid": np.array([c[:2] for c in cells]),
                    "class": np.array([[c[2]] for c in cells], np.int32)})
    what = "negative coordinates" if where == "negative" else f"coordinates outside the {H}x{W} canvas"
    with pytest.raises(ValueError, match=rf"a.*: 1 cell\(s\) with {what} \(first: x={x:g}, y={y:g}\)"):
        read_layouts(f, shape=(H, W))
    if where == "beyond" and fmt != "mat":  # without a canvas only negative coordinates are known to be wrong
        assert read_layouts(f)[0][0].counts.sum() == 2


def test_far_canvas_edge_is_on_the_canvas(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(f"x,y,class\n{W},{H},a\n0,0,a\n")
    assert points.read(f, shape=(H, W)).counts.tolist() == [2]


# ------------------------------------------------------- only layout files (item 8)
def test_non_layout_files_are_skipped_and_listed(tmp_path):
    from topofd.layouts.sets import Skipped

    np.save(tmp_path / "p0.npy", _blobs(1))
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "README.txt").write_text("These are the real layouts.\n")
    (tmp_path / "run_config.json").write_text(json.dumps({"lr": 1e-4, "steps": 10}))
    (tmp_path / "report.json").write_text(json.dumps({"protocol": "paper", "per_class": [], "mean": {}}))
    (tmp_path / "report.csv").write_text("class,topofd,mmd,cce,tce\nlym,1,2,3,\nmean,1,2,,4\n")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "notes.md").write_text("hi")
    lays, skipped = read_layouts(tmp_path)
    assert [l.name for l in lays] == ["p0"]
    assert all(isinstance(s, Skipped) and not s.unreadable for s in skipped)
    assert sorted(Path(s.path).name for s in skipped) == sorted(
        ["notes.txt", "README.txt", "run_config.json", "report.json", "report.csv", "list.json", "notes.md"])
    by = {Path(s.path).name: s for s in skipped}
    assert "empty file" in by["notes.txt"].reason and "no column 'x'" in by["report.csv"].reason
    assert by["report.json"] == f"{tmp_path / 'report.json'}: {by['report.json'].reason}"
    # a folder of nothing but those is an error that says what it skipped
    (tmp_path / "p0.npy").unlink()
    with pytest.raises(ValueError, match=r"no layout files found \(skipped .*README\.txt: not a layout file"):
        read_layouts(tmp_path)


def test_what_makes_a_txt_or_json_a_layout_file(tmp_path):
    (tmp_path / "a_gen.txt").write_text("10 12 1\n20 22 2\n")  # BRCA lines without the BRCA name: read
    (tmp_path / f"b{brca.SUFFIX}.txt").write_text("")  # the BRCA name: an empty layout
    (tmp_path / "c.json").write_text("[]")  # an export without objects
    (tmp_path / "d.json").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    lays, skipped = read_layouts(tmp_path, classes=CLASSES)
    assert [l.name for l in lays] == ["a_gen", "b", "c", "d"] and not skipped
    assert [l.counts.sum() for l in lays] == [2, 0, 0, 0]
    # a malformed layout file still stops the run
    (tmp_path / "e.txt").write_text("1 2 3\nnot numbers\n")
    with pytest.raises(ValueError, match=r"e\.txt: expected 'Y X CLASS'"):
        read_layouts(tmp_path, classes=CLASSES)
    (tmp_path / "e.txt").unlink()
    (tmp_path / "f.geojson").write_text(json.dumps({"lr": 1}))  # .geojson is always GeoJSON
    with pytest.raises(ValueError, match=r"f\.geojson: expected a GeoJSON"):
        read_layouts(tmp_path, classes=CLASSES)
    # a single file that is not a layout is an error, not an empty read
    with pytest.raises(ValueError, match=r"notes\.txt: not a layout file: empty file"):
        (tmp_path / "notes.txt").write_text("")
        read_layouts(tmp_path / "notes.txt")


def test_one_layout_in_two_files_is_an_error(tmp_path):
    np.save(tmp_path / "p0.npy", _blobs(1))
    (tmp_path / "p0.csv").write_text("x,y,class\n3,4,1\n")
    with pytest.raises(ValueError, match=r"p0\.csv and p0\.npy are the same layout 'p0'.*--format"):
        read_layouts(tmp_path)
    lays, skipped = read_layouts(tmp_path, format="npy")
    assert [l.source for l in lays] == [str(tmp_path / "p0.npy")] and len(skipped) == 1
    (tmp_path / "p0.csv").unlink()
    (tmp_path / f"p0{brca.SUFFIX}.txt").write_text("3 4 1\n")  # the BRCA layout 'p0'
    with pytest.raises(ValueError, match="same layout 'p0'"):
        read_layouts(tmp_path)


def test_pairing_at_name_boundaries():
    from topofd.layouts.matching import pair_names

    real = ["img_1", "img_2", "X", "a-b"]
    synth = ["img_1_gen", "img_10_gen", "X", "X.s0", "Xgen", "a-b-1", "img_2_gen"]
    p = pair_names(real, synth)
    assert sorted(p.pairs) == [(0, 0), (1, 6), (2, 2), (2, 3), (3, 5)]
    assert p.unmatched_synth == [1, 4] and p.unmatched_real == []
    assert any("2 synthetic layout name(s) start with a real layout's name without a separator" in n
               and "'img_10_gen' and real 'img_1'" in n for n in p.notes)
    # the case: img_10 missing, img_10_gen must not count against img_1
    p = pair_names(["img_1", "img_2"], ["img_1_gen", "img_10_gen", "img_2_gen"])
    assert p.pairs == [(0, 0), (1, 2)] and p.unmatched_synth == [1] and len(p.notes) == 1
    # a pair at a shorter boundary than its neighbours: 'img_1' missing, 'img_1_gen' pairs with 'img'
    p = pair_names(["img", "img_2", "img_3"], ["img_1_gen", "img_2_gen", "img_3_gen"])
    assert p.pairs == [(0, 0), (1, 1), (2, 2)]
    assert any("2 naming patterns" in n and "'img_1_gen' with real 'img'" in n for n in p.notes)
    # the usual case: no notes
    p = pair_names([f"p{i}" for i in range(12)], [f"p{i}_gen" for i in range(12)])
    assert len(p.pairs) == 12 and not p.notes


# ------------------------------------------------------ hostile JSON (item 10)
def test_geojson_properties_not_an_object(tmp_path):
    f = tmp_path / "q.geojson"
    f.write_text(json.dumps([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
                              "properties": "Tumor"}]))
    with pytest.raises(ValueError, match=r"q\.geojson: feature 0 has 'properties' that is not an object"):
        read_layouts(tmp_path)


@pytest.mark.parametrize("name", ["deep.geojson", "deep.json"])
def test_deeply_nested_json(tmp_path, name):
    (tmp_path / name).write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match="nested too deeply") as e:
        read_layouts(tmp_path)
    assert "\n" not in str(e.value)
    layouts, skipped = read_layouts(tmp_path, skip_bad=True)
    assert layouts == [] and len(skipped) == 1 and skipped[0].unreadable


def test_geojson_malformed_geometry(tmp_path):
    f = tmp_path / "g.geojson"
    for geom in ({"type": "Point", "coordinates": {"x": 1}}, {"type": "Point", "coordinates": [10 ** 400, 1]},
                 {"type": "Polygon", "coordinates": [[["a", "b"]]]}, {"type": ["Point"], "coordinates": [1, 2]}):
        f.write_text(json.dumps([{"type": "Feature", "geometry": geom, "properties": {"classification": "a"}}]))
        with pytest.raises(ValueError, match=r"g\.geojson: feature 0"):
            read_layouts(f)


def test_point_table_row_with_extra_fields_is_an_error(tmp_path):
    # pandas would take the first fields of such a row as an index and read x=5, y=6, class 7
    f = tmp_path / "t.csv"
    f.write_text("x,y,class\n3,4,1,5,6,7\n")
    with pytest.raises(ValueError, match=r"t\.csv: corrupt or unreadable table"):
        points.read(f)
    f.write_text("x,y,class,\n3,4,1,\n")  # a trailing separator on every line is fine
    assert points.read(f).points[0].tolist() == [[4.0, 3.0]]
