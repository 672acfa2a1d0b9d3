"""Every reader gives the same Layout as the .npy of the same layouts, and a
clear ValueError naming the file on a corrupt one."""
import json

import numpy as np
import pytest
from scipy.io import savemat

from topofd.io import READERS, read_layouts
from topofd.layout import Layout
from topofd.readers import brca, geojson, mat, npy, png, points

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
    assert set(READERS) == {"npy", "png", "csv", "txt", "geojson", "mat"}
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
