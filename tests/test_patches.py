"""`topofd patches` on the bundled BRCA-M2C test split: the paper's 1,550 windows."""
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topofd.cli import cli
from topofd.layouts.brca_m2c import bundled_root, real_patches
from topofd.layouts.sets import read_layouts
from topofd.layouts.patches import read_sizes, read_split, windows


def test_bundled_split_gives_1550_windows():
    with bundled_root() as root:
        sizes = read_sizes(root / "image_sizes.tsv")
        split = read_split(root / "brca_ds_test.txt")
        assert len(split) == 30 and (root / "LICENSE").is_file()
        assert sum(len(list(windows(sizes[s]))) for s in split) == 1550


def test_patches_command_writes_1550_npy():
    # ~300 MB: in RAM when possible (the disk would take most of the test's time), removed at once
    shm = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None
    with bundled_root() as root, tempfile.TemporaryDirectory(dir=shm) as tmp:
        out = Path(tmp) / "real"
        res = CliRunner().invoke(cli, ["patches", str(root / "labels"), "--sizes", str(root / "image_sizes.tsv"),
                                       "--split", str(root / "brca_ds_test.txt"), "--out", str(out), "--quiet"])
        assert res.exit_code == 0, res.output
        files = sorted(out.glob("*.npy"))
        assert len(files) == 1550 and "wrote 1550 patches from 30 images" in res.output
        assert not list(out.glob(".*"))  # no temporary leftovers
        a = np.load(files[0])
        assert a.shape == (256, 256, 3) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
        # the files read back are the demo's in-memory real set
        mem = {l.name: l for l in real_patches(root, 155)}  # an evenly spread subset
        for f in files:
            if f.stem not in mem:
                continue
            lay = read_layouts(f, classes=("lym", "epi", "stro"))[0][0]
            ref = mem[f.stem]
            assert np.array_equal(lay.counts, ref.counts)
            for p, q in zip(lay.points, ref.points):
                np.testing.assert_array_equal(p, q)


def test_patches_options_and_errors(tmp_path):
    with bundled_root() as root:
        labels, sizes = root / "labels", root / "image_sizes.tsv"
        stem = read_split(root / "brca_ds_test.txt")[0]
        (tmp_path / "one.txt").write_text(stem + ".png\n")
        runner = CliRunner()
        res = runner.invoke(cli, ["patches", str(labels), "--sizes", str(sizes), "--split", str(tmp_path / "one.txt"),
                                  "--out", str(tmp_path / "o"), "--size", "128", "--stride", "128", "-q"])
        assert res.exit_code == 0, res.output
        H, W = read_sizes(sizes)[stem]
        assert len(list((tmp_path / "o").glob("*.npy"))) == (H // 128) * (W // 128)
        # an image of the split without a size: data error, one line
        (tmp_path / "bad.txt").write_text("no_such_image.png\n")
        res = runner.invoke(cli, ["patches", str(labels), "--sizes", str(sizes), "--split", str(tmp_path / "bad.txt"),
                                  "--out", str(tmp_path / "o2")])
        assert res.exit_code == 1
        assert res.stderr.strip().splitlines() == [f"topofd: error: {sizes}: no size for image 'no_such_image'"]
        assert not (tmp_path / "o2").exists()
        # missing required option: usage error
        res = runner.invoke(cli, ["patches", str(labels), "--out", str(tmp_path / "o3")])
        assert res.exit_code == 2 and "--sizes" in res.stderr


# ------------------------------------------- the demo is the on-disk pipeline (issue 13, item 9)
def test_demo_sets_are_the_on_disk_pipeline(tmp_path):
    """`topofd patches` + `topofd baseline random` files, read back, are the
    demo's layouts bit for bit, and `topofd compare --mmd-samples` on them
    gives the demo's numbers (class names aside)."""
    import topofd
    from topofd.layouts.brca_m2c import demo_sets, image_patches, label_file

    real, synth = demo_sets(12, seed=5)
    assert all(np.array_equal(r.counts, s.counts) for r, s in zip(real, synth))  # counts survive the read-back
    want = {l.name for l in real}
    real_dir, synth_dir = tmp_path / "real", tmp_path / "synth"
    real_dir.mkdir()
    with bundled_root() as root:  # the files `topofd patches` writes, for the demo's windows only
        sizes = read_sizes(root / "image_sizes.tsv")
        for stem in read_split(root / "brca_ds_test.txt"):
            if any(n.startswith(stem + "_r") for n in want):
                for name, arr in image_patches(label_file(root / "labels", stem), sizes[stem]):
                    if name in want:
                        np.save(real_dir / f"{name}.npy", arr)
    res = CliRunner().invoke(cli, ["baseline", "random", str(real_dir), "--out", str(synth_dir), "--seed", "5", "-q"])
    assert res.exit_code == 0, res.output
    assert "merged" not in res.stderr and "touch" not in res.stderr
    disk_r, _ = read_layouts(real_dir, classes=("lym", "epi", "stro"))
    disk_s, _ = read_layouts(synth_dir, classes=("lym", "epi", "stro"))
    for mem, disk in ((real, disk_r), (synth, disk_s)):
        assert [l.name for l in mem] == [l.name for l in disk]
        for a, b in zip(mem, disk):
            for p, q in zip(a.points, b.points):
                assert np.array_equal(p, q)
    kw = dict(metrics=["topofd", "mmd", "counts"], mmd_samples=6, seed=5)
    a = topofd.compare(real, synth, **kw).table
    b = topofd.compare(str(real_dir), str(synth_dir), classes=("lym", "epi", "stro"), **kw).table
    cols = ["topofd", "mmd", "cce", "tce"]
    assert np.array_equal(a[cols].to_numpy(), b[cols].to_numpy(), equal_nan=True)
    assert b.loc["mean", "tce"] == 0


def test_separated_random_baseline_keeps_counts_after_read_back():
    from topofd.layouts.baselines import perturb
    from topofd.layouts.layout import Layout

    with bundled_root() as root:
        real = real_patches(root, 40)
    for cell in (1, 3, 5):
        for lay in real:
            p = perturb(lay, "random", seed=1, separate=cell)
            assert np.array_equal(p.counts, lay.counts)
            for q in p.points:  # every pair of a class at least cell + 1 apart (Chebyshev)
                d = np.abs(q[:, None] - q[None]).max(axis=-1)
                assert (d[~np.eye(len(q), dtype=bool)] >= cell + 1).all()
            back = Layout.from_array(p.to_array(cell), lay.classes)
            assert np.array_equal(back.counts, lay.counts)
    # without it (the published baseline), drawn cells do merge on these patches
    lost = sum(int(l.counts.sum() - Layout.from_array(perturb(l, "random").to_array()).counts.sum()) for l in real)
    assert lost > 0


def test_separated_placement_errors_and_options():
    from topofd.layouts.baselines import perturb
    from topofd.layouts.layout import Layout

    full = Layout((np.zeros((30, 2)),), ("a",), (16, 16), "dense")  # 30 cells 4 px apart on 16x16: 16 fit
    with pytest.raises(ValueError, match=r"dense, class a: no room for 30 cells 4 px apart on a 16x16 canvas"):
        perturb(full, "random", separate=3)
    with pytest.raises(ValueError, match="separate applies to the 'random' baseline"):
        perturb(full, "jitter", separate=3)
    with pytest.raises(ValueError, match="separate applies"):
        perturb(full, "random", separate=3, lattice=False)


def test_published_baselines_are_unchanged():
    """`perturb`'s defaults built the golden BRCA-M2C fixture: their output is
    pinned (digest computed before `separate` existed)."""
    import hashlib

    from topofd.layouts.baselines import perturb

    with bundled_root() as root:
        real = real_patches(root, 20)
    h = hashlib.sha256()
    for lay in real:
        for kind in ("random", "jitter", "shuffle"):
            for p in perturb(lay, kind, sigma=4.0, seed=0).points:
                h.update(p.tobytes())
        for p in perturb(lay, "random", lattice=False).points:
            h.update(p.tobytes())
    assert h.hexdigest() == "6095657bc8f89fef999b2de55be283ba134d1e77996c98b07b1827479fed9c9b"


def test_baseline_warns_when_drawn_cells_merge(tmp_path):
    from topofd.layouts.layout import Layout

    real = tmp_path / "real"
    real.mkdir()
    g = np.arange(3.0, 60.0, 5.0)  # a grid of cells 5 px apart: jitter makes some touch
    pts = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    np.save(real / "p0.npy", Layout((pts,), ("a",), (64, 64)).to_array())
    res = CliRunner().invoke(cli, ["baseline", "jitter", str(real), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    lost = len(pts) - int(read_layouts(tmp_path / "o")[0][0].counts.sum())
    assert lost > 0
    assert f"topofd: warning: jitter: {lost} cells of 1 layouts touch another cell" in res.stderr
    res = CliRunner().invoke(cli, ["baseline", "random", str(real), "--out", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0 and "warning" not in res.stderr
    assert read_layouts(tmp_path / "r")[0][0].counts.tolist() == read_layouts(real)[0][0].counts.tolist()


def test_published_centres_are_unchanged():
    """The parity with the published computation rests on these: the 1,550
    real patches' centres and the published random baseline read back (every
    10th patch), pinned by digest (computed before masks other than 0/1 were
    read, tests/test_parity_brca.py checks the numbers)."""
    import hashlib

    from topofd.layouts.baselines import perturb
    from topofd.layouts.layout import Layout

    with bundled_root() as root:
        real = real_patches(root)
    h, g = hashlib.sha256(), hashlib.sha256()
    for lay in real:
        for p in lay.points:
            h.update(p.tobytes())
    for lay in real[::10]:
        for p in Layout.from_array(perturb(lay, "random", sigma=4.0, seed=0).to_array()).points:
            g.update(p.tobytes())
    assert h.hexdigest() == "b9276b237a0241110668c833a9181c322e6c16e1e411fd95f3cce0ff4f771819"
    assert g.hexdigest() == "a86c547828940c9b6ad5f3e6c6aa25c93410c7b6a3b2395cf560253c213e1784"
