"""`topofd patches` on the bundled BRCA-M2C test split: the paper's 1,550 windows."""
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topofd.cli import cli
from topofd.demo import bundled_root, real_patches
from topofd.io import read_layouts
from topofd.patches import read_sizes, read_split, windows


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
