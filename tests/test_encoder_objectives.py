"""The two training objectives of the layout encoder (issue 17): the
contrastive views and loss, `topofd train-encoder --objective`, and that a
checkpoint of one objective is not resumed by the other."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_fid import SHAPE, blobs

from topofd.encoders.raster import rasterise

torch = pytest.importorskip("torch")


def test_contrastive_view_keeps_the_cells_up_to_the_view_group():
    from topofd.encoders.train import SHIFT, view

    lay = blobs(1, 3)[0]
    img = view(lay.points, lay.shape, np.random.default_rng(0))
    assert img.shape == (3, 128, 128) and img.dtype == np.float32 and img.flags.c_contiguous
    ref = rasterise(lay.points, lay.shape)
    # a shift of at most SHIFT px and 1 px jitter move little mass: per class, the drawn area is about the same
    assert np.allclose(img.sum((1, 2)), ref.sum((1, 2)), rtol=0.35)
    a, b = (view(lay.points, lay.shape, np.random.default_rng(s)) for s in (1, 2))
    assert not np.array_equal(a, b) and SHIFT <= 16


def test_nt_xent_prefers_matching_views():
    from topofd.encoders.train import nt_xent

    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=g)
    same = nt_xent(z, z + 0.01 * torch.randn(16, 8, generator=g))
    other = nt_xent(z, torch.randn(16, 8, generator=g))
    assert float(same) < float(other)
    # SimCLR's Eq. 1: l(i, j) = -sim(i, j)/τ + log Σ_{k≠i} exp(sim(i, k)/τ), averaged over the 2B anchors
    zn = torch.nn.functional.normalize(torch.cat([z, z.flip(0)]), dim=1).double()
    sim = (zn @ zn.T / 0.5).numpy()
    want = np.mean(
        [-sim[i, (i + 16) % 32] + np.log(sum(np.exp(sim[i, k]) for k in range(32) if k != i)) for i in range(32)]
    )
    assert float(nt_xent(z, z.flip(0))) == pytest.approx(want, rel=1e-5)


def test_cli_train_encoder_contrastive(tmp_path):
    from click.testing import CliRunner

    from topofd.cli import cli

    (tmp_path / "train").mkdir()
    for l in blobs(24, 5, "tr"):
        np.save(tmp_path / "train" / f"{l.name}.npy", l.to_array())
    enc = tmp_path / "enc.pt"
    args = ["train-encoder", tmp_path / "train", "--out", enc, "--epochs", "1", "--batch", "8", "-q"]
    res = CliRunner().invoke(cli, [str(a) for a in [*args, "--objective", "contrastive"]])
    assert res.exit_code == 0, res.output
    rec = json.loads(enc.with_suffix(".json").read_text())
    assert rec["objective_name"] == "contrastive" and "--objective contrastive" in rec["command"]
    F = torch.jit.load(str(enc))(torch.from_numpy(rasterise(blobs(1, 0)[0].points, SHAPE)[None]))
    assert F.shape == (1, rec["features"])
    res = CliRunner().invoke(cli, [str(a) for a in [*args, "--objective", "nope"]])
    assert res.exit_code != 0 and "nope" in res.output


def test_checkpoint_of_another_objective_is_not_resumed(tmp_path):
    from topofd.encoders.train import train_encoder

    lays = blobs(16, 9)
    pts, cs = [l.points for l in lays], [l.shape for l in lays]
    out = tmp_path / "e.pt"

    def stop(msg):
        if msg.startswith("epoch 1/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_encoder(pts, cs, out, objective="contrastive", epochs=2, batch=8, log=stop)
    with pytest.raises(ValueError, match="objective"):
        train_encoder(pts, cs, out, objective="supervised", epochs=2, batch=8, log=lambda m: None)
    with pytest.raises(ValueError, match="one of"):
        train_encoder(pts, cs, tmp_path / "f.pt", objective="other", epochs=1, log=lambda m: None)
