"""`topofd.layouts.sets.match_sets`: classes matched by name or position, never silently
by a wrong position; class counts and canvas sizes checked across the sets
(issue 13, items 2 and 7)."""
import numpy as np
import pytest

import topofd
from topofd.layouts.matching import match_sets
from topofd.layouts.sets import read_layouts
from topofd.layouts.layout import Layout

N = ("class1", "class2", "class3")


def lay(classes, name="a", shape=(64, 64), origin="", counts=None, seed=0):
    rng = np.random.default_rng(seed)
    counts = counts or [k + 1 for k in range(len(classes))]
    pts = tuple(rng.uniform(0, 60, (n, 2)) for n in counts)
    return Layout(pts, tuple(classes), shape, name, f"{name}.src", origin)


def test_same_names_pass_through():
    r, s = [lay(N, "r0")], [lay(N, "r0_gen")]
    R, S, names, notes = match_sets(r, s)
    assert names == N and not notes
    assert R[0] is r[0] and S[0] is s[0]


def test_both_named_are_matched_by_name():
    # real: BRCA-M2C's fixed order; synthetic: names read from a point table, sorted
    r = [lay(("lym", "epi", "stro"), counts=[5, 6, 7])]
    s = [lay(("epi", "lym", "stro"), origin="content", counts=[60, 50, 70])]
    R, S, names, notes = match_sets(r, s)
    assert names == ("lym", "epi", "stro")
    assert S[0].classes == names and S[0].counts.tolist() == [50, 60, 70]
    assert np.array_equal(S[0].points[0], s[0].points[1])
    assert notes == ["classes matched by name: synthetic epi, lym, stro reordered to the real lym, epi, stro"]


def test_names_from_content_against_numbered_classes_are_refused():
    r = [lay(N)]  # e.g. .npy: channels only numbered
    s = [lay(("epi", "lym", "stro"), origin="content")]  # e.g. .csv with class names
    with pytest.raises(ValueError, match=r"cannot match classes: synthetic layouts name their classes "
                                         r"\(epi, lym, stro, read from the files.*pass --classes A,B,\.\.\. in the real"):
        match_sets(r, s)
    with pytest.raises(ValueError, match="real layouts name their classes"):
        match_sets(s, r)
    # naming them resolves it: the numbered set is renamed by position, the named one reordered by name
    R, S, names, notes = match_sets(r, s, classes=("lym", "epi", "stro"))
    assert names == ("lym", "epi", "stro") and R[0].classes == S[0].classes == names
    assert np.array_equal(S[0].points[0], s[0].points[1])


def test_fixed_order_names_against_numbered_classes_match_by_position():
    r = [lay(("lym", "epi", "stro"))]  # BRCA-M2C .txt
    s = [lay(N, counts=[9, 8, 7])]  # .npy channels in the same order
    R, S, names, notes = match_sets(r, s)
    assert names == ("lym", "epi", "stro") and S[0].classes == names and S[0].counts.tolist() == [9, 8, 7]
    assert notes == ["classes matched by position: synthetic class1, class2, class3 taken as lym, epi, stro"]
    R, S, names, _ = match_sets(s, r)
    assert names == ("lym", "epi", "stro") and R[0].classes == names


def test_different_name_sets_are_refused():
    with pytest.raises(ValueError, match=r"cannot match classes by name: real layouts have lym, epi, stro, synthetic "
                                         r"layouts have a, lym, stro \(synthetic lacks epi; real lacks a\)"):
        match_sets([lay(("lym", "epi", "stro"))], [lay(("a", "lym", "stro"), origin="content")])
    with pytest.raises(ValueError, match="synthetic lacks stro"):
        match_sets([lay(("lym", "epi", "stro"))], [lay(("epi", "lym"), origin="content")])


def test_class_counts_name_the_odd_file():
    # the odd one first: today's check named the second (well-formed) file
    r = [lay(("class1", "class2"), "r0"), lay(N, "r1"), lay(N, "r2")]
    with pytest.raises(ValueError, match=r"^r0\.src: 2 classes, but 2 other real layouts have 3 \(e\.g\. r1\.src\)$"):
        match_sets(r, [lay(N)])
    s = [lay(N, "s0"), lay(N, "s1"), lay(("class1", "class2"), "s2")]
    with pytest.raises(ValueError, match=r"^s2\.src: 2 classes, but 2 other synthetic layouts have 3"):
        match_sets([lay(N)], s)
    with pytest.raises(ValueError, match=r"class count mismatch: real layouts have 3 classes \(e\.g\. r\.src\), "
                                         r"synthetic layouts have 2 \(e\.g\. s\.src\)"):
        match_sets([lay(N, "r")], [lay(("class1", "class2"), "s")])
    with pytest.raises(ValueError, match=r"^b\.src: classes lym, epi differ from those of the other real"):
        match_sets([lay(("a", "b"), "x"), lay(("lym", "epi"), "b"), lay(("a", "b"), "y")], [lay(("a", "b"))])


def test_given_classes():
    r, s = [lay(N)], [lay(N)]
    R, S, names, notes = match_sets(r, s, classes=["a", "b", "c"])
    assert names == ("a", "b", "c") and R[0].classes == S[0].classes == names and not notes
    with pytest.raises(ValueError, match="2 class names given for real layouts with 3 classes"):
        match_sets(r, s, classes=["a", "b"])
    with pytest.raises(ValueError, match="layouts name their classes x, y, z, not a, b, c"):
        match_sets(r, [lay(("x", "y", "z"), origin="content")], classes=["a", "b", "c"])


def test_empty_sets_and_classless_layouts():
    with pytest.raises(ValueError, match="real set: no layouts"):
        match_sets([], [lay(N)])
    with pytest.raises(ValueError, match="synthetic set: no layouts"):
        match_sets([lay(N)], [])
    with pytest.raises(ValueError, match="synthetic layouts have no classes"):
        match_sets([lay(N)], [Layout((), (), (64, 64), "e", "e.csv")])


def test_canvas_sizes():
    a, b = (64, 64), (128, 128)
    with pytest.raises(ValueError, match=r"canvas sizes differ: real layouts are 64x64 \(e\.g\. r\.src\), "
                                         r"synthetic layouts 128x128 \(e\.g\. s\.src\)"):
        match_sets([lay(N, "r", a)], [lay(N, "s", b)])
    _, _, _, notes = match_sets([lay(N, "r0", a), lay(N, "r1", b)], [lay(N, "s0", a), lay(N, "s1", b)])
    assert notes == ["real layouts have 2 canvas sizes (64x64: 1, 128x128: 1); persistence and counts scale "
                     "with the canvas",
                     "synthetic layouts have 2 canvas sizes (64x64: 1, 128x128: 1); persistence and counts scale "
                     "with the canvas"]
    _, _, _, notes = match_sets([lay(N, "r0", a), lay(N, "r1", b)], [lay(N, "s0", a)])
    assert notes[-1] == "canvas sizes differ between the sets: real 64x64, 128x128; synthetic 64x64"
    # no canvas on one side (a point table without --canvas): cells beyond the other canvas get a note
    far = Layout((np.array([[10.0, 900.0]]), np.zeros((0, 2)), np.zeros((0, 2))), N, None, "f", "f.csv")
    _, _, _, notes = match_sets([lay(N, "r", a)], [far])
    assert notes == ["synthetic layouts have no canvas size and their cells reach x=900, y=10, beyond the real "
                     "canvas (64x64): another unit or frame?"]
    _, _, _, notes = match_sets([lay(N, "r", a)], [lay(N, "s", None)])
    assert not notes


def _write_sets(tmp_path, n=8):
    """Real: .npy arrays (channels lym, epi, stro by position); synthetic: the
    same cells as point tables with class names (read back sorted: epi, lym, stro)."""
    rng = np.random.default_rng(3)
    real, synth = tmp_path / "real", tmp_path / "synth"
    real.mkdir()
    synth.mkdir()
    names = ("lym", "epi", "stro")
    for i in range(n):
        # very different class sizes, so that a positional mix-up shows in every number
        pts = [rng.uniform(4, 60, (m, 2)).round() for m in (6, 30, 12)]
        np.save(real / f"p{i}.npy", Layout(tuple(pts), names, (64, 64)).to_array())
        back = Layout.from_array(np.load(real / f"p{i}.npy"))
        rows = ["x,y,class"] + [f"{c},{r},{names[k]}" for k, p in enumerate(back.points) for r, c in p]
        (synth / f"p{i}_gen.csv").write_text("\n".join(rows) + "\n")
    return real, synth


def test_read_folders_then_match(tmp_path):
    real, synth = _write_sets(tmp_path)
    R, _ = read_layouts(real)
    S, _ = read_layouts(synth, shape=(64, 64))
    assert S[0].classes == ("epi", "lym", "stro") and S[0].class_origin == "content"
    with pytest.raises(ValueError, match="pass --classes"):
        match_sets(R, S)
    R, _ = read_layouts(real, classes=["lym", "epi", "stro"])
    S, _ = read_layouts(synth, classes=["lym", "epi", "stro"], shape=(64, 64))
    R2, S2, names, notes = match_sets(R, S)
    assert names == ("lym", "epi", "stro") and not notes
    assert all(np.array_equal(a.counts, b.counts) for a, b in zip(R2, S2))
    # the same cells on both sides: identical per-class clouds, so count errors are 0
    rep = topofd.compare(R2, S2, metrics=["counts"])
    assert rep.table.loc["mean", "tce"] == 0


def test_compare_on_folders_matches_by_name_or_refuses(tmp_path):
    """End to end through ``topofd.compare`` (needs the compare pipeline to call match_sets)."""
    real, synth = _write_sets(tmp_path)
    with pytest.raises(ValueError, match="pass --classes"):
        topofd.compare(str(real), str(synth), metrics=["counts"], canvas=(64, 64))
    rep = topofd.compare(str(real), str(synth), metrics=["counts"], classes=["lym", "epi", "stro"],
                         canvas=(64, 64))
    assert rep.table.loc["mean", "tce"] == 0
    # BRCA-M2C style names on the real side: matched by name, no --classes needed
    brca = tmp_path / "brca"
    brca.mkdir()
    for f in sorted(real.glob("*.npy")):
        lay_ = Layout.from_array(np.load(f))
        lines = [f"{r:g} {c:g} {k + 1}" for k, p in enumerate(lay_.points) for r, c in p]
        (brca / f"{f.stem}_gt_class_coords.txt").write_text("\n".join(lines) + "\n")
    rep = topofd.compare(str(brca), str(synth), metrics=["counts"], canvas=(64, 64))
    assert list(rep.table.index[:3]) == ["lym", "epi", "stro"] and rep.table.loc["mean", "tce"] == 0


def test_summary_level_functions_for_a_streaming_pipeline():
    """The same rules on per-set summaries (names, origin; canvas counts),
    for a pipeline that does not keep the layouts."""
    from topofd.layouts.matching import match_canvases, match_classes, set_classes

    assert set_classes("real", [lay(("lym", "epi"), "a"), lay(("lym", "epi"), "b")]) == (("lym", "epi"), "positional")
    m = match_classes((("lym", "epi", "stro"), "positional"), (("epi", "lym", "stro"), "content"))
    assert m.names == ("lym", "epi", "stro") and m.real_order is None and m.synth_order == [1, 0, 2]
    with pytest.raises(ValueError, match="cannot match classes: synthetic layouts name their classes"):
        match_classes((N, "default"), (("epi", "lym", "stro"), "content"))
    assert match_classes((N, "default"), (N, "default")).notes == []
    assert match_canvases({(64, 64): 10}, {(64, 64): 3}) == []
    with pytest.raises(ValueError, match=r"canvas sizes differ: real layouts are 64x64 \(e\.g\. r\.npy\), synthetic "
                                         r"layouts 32x32; compare layouts of one size"):
        match_canvases({(64, 64): 10}, {(32, 32): 3}, examples={"real": "r.npy"})
    assert match_canvases({(64, 64): 1}, {}, synth_extent=(70.0, 10.0))[0].startswith(
        "synthetic layouts have no canvas size and their cells reach x=10, y=70")
