"""TopoCellGen generator on CPU: config, network, diffusion, data, training, sampling."""
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from topofd import Layout  # noqa: E402
from topofd.generator import build  # noqa: E402
from topofd.generator.cli import main  # noqa: E402
from topofd.generator.config import load_config  # noqa: E402
from topofd.generator.data import LayoutCrops  # noqa: E402
from topofd.generator.diffusion import space_timesteps  # noqa: E402
from topofd.generator.sample import postprocess  # noqa: E402
from topofd.generator.train import compute_losses, train  # noqa: E402

BUNDLED = Path(__file__).resolve().parents[2] / "topofd" / "data" / "brca_m2c"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # the suite shares a small CPU: one thread is the fastest there
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small_cfg(**train):
    """The tiny config at 32x32 on the bundled BRCA-M2C test labels."""
    cfg = load_config("tiny")
    cfg["model"].update(image_size=32, channel_mult=[1, 2], attention_resolutions=[16])
    cfg["data"].update(root=str(BUNDLED), split="brca_ds_test.txt", crop=32)
    cfg["train"].update({"stage1_steps": 10**9, **train})  # a caller may set its own stage 1
    return cfg


def binary_batch(cfg, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    C, S = cfg["model"]["num_classes"], cfg["model"]["image_size"]
    return (torch.rand(b, C, S, S, generator=g) < 0.05).float() * 2 - 1, torch.randint(0, 30, (b, C), generator=g).float()


def test_config_bundled_and_base(tmp_path):
    tiny, paper = load_config("tiny"), load_config("brca_m2c")
    assert tiny["model"]["image_size"] == 64 and paper["model"]["image_size"] == 256
    assert tiny["losses"] == paper["losses"]  # inherited through base: brca_m2c
    (tmp_path / "mine.yaml").write_text("base: tiny\ntrain: {lr: 0.5}\n")
    mine = load_config(tmp_path / "mine.yaml")
    assert mine["train"]["lr"] == 0.5 and mine["train"]["batch_size"] == tiny["train"]["batch_size"]
    with pytest.raises(ValueError, match="not a bundled config"):
        load_config("no_such_config")
    (tmp_path / "bad.yaml").write_text("model: {}\n")
    with pytest.raises(ValueError, match="missing section"):
        load_config(tmp_path / "bad.yaml")


def test_output_shape_and_finite_losses():
    cfg = load_config("tiny")
    model, diffusion = build(cfg)
    x0, counts = binary_batch(cfg)
    out = model(x0, torch.tensor([0, 999]), counts)
    assert out.shape == (2, 6, 64, 64)
    terms = compute_losses(model, diffusion, x0, counts, cfg, step=0)
    assert set(terms) == {"loss", "mse", "vb"}
    assert all(torch.isfinite(v) for v in terms.values())


def test_eq2_inverts_forward_process_and_respacing():
    _, diffusion = build(load_config("tiny"))
    x0 = torch.rand(3, 3, 8, 8) * 2 - 1
    noise, t = torch.randn_like(x0), torch.tensor([0, 500, 990])
    x_t = diffusion.q_sample(x0, t, noise)
    assert torch.allclose(diffusion.pred_xstart_from_eps(x_t, t, noise), x0, atol=1e-3)
    assert space_timesteps(1000, "ddim100") == list(range(0, 1000, 10))
    sub = diffusion.respaced("ddim100")
    assert np.allclose(sub.alphas_cumprod, diffusion.alphas_cumprod[::10])
    assert list(sub.timestep_map[:3]) == [0, 10, 20]


def test_training_on_one_batch_lowers_the_loss():
    cfg = small_cfg()
    torch.manual_seed(0)
    model, diffusion = build(cfg)
    x0, counts = binary_batch(cfg, b=2)
    t_eval, noise_eval = torch.tensor([300, 700]), torch.randn_like(x0)

    def eval_mse():
        with torch.no_grad():
            return float(compute_losses(model, diffusion, x0, counts, cfg, 0, noise_eval, t_eval)["mse"])

    before = eval_mse()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(15):
        loss = compute_losses(model, diffusion, x0, counts, cfg, 0)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert eval_mse() < 0.7 * before


@pytest.mark.parametrize("sampler", ["ddim", "ancestral"])
def test_sampling_shape_range_and_determinism(sampler):
    cfg = small_cfg()
    model, diffusion = build(cfg)
    torch.nn.init.normal_(model.out[-1].weight, std=0.1)  # a non-trivial eps
    process = diffusion.respaced("ddim5" if sampler == "ddim" else "5")
    noise, counts = torch.randn(2, 3, 32, 32), torch.tensor([[5.0, 20, 3], [0, 0, 40]])
    runs = [process.sample(model, noise, counts, sampler=sampler, generator=torch.Generator().manual_seed(1))
            for _ in range(2)]
    assert runs[0].shape == (2, 3, 32, 32)
    assert runs[0].min() >= -1 and runs[0].max() <= 1
    assert torch.equal(runs[0], runs[1])


def test_crops_counts_and_checkpointable_rng():
    cfg = small_cfg()
    cfg["data"]["crop"] = 128
    crops = LayoutCrops.from_config(cfg["data"], seed=3)
    assert len(crops.rasters) == 30
    state = crops.state()
    x, counts = crops.batch(4)
    assert x.shape == (4, 3, 128, 128) and set(np.unique(x)) <= {-1.0, 1.0}
    # cells whose centre is inside: never more components than counted + border fragments
    for xb, cb in zip(x, counts):
        assert (Layout.from_array(xb > 0, channels="first").counts >= cb - 3).all()
    crops.set_state(state)
    x2, counts2 = crops.batch(4)
    assert np.array_equal(x, x2) and np.array_equal(counts, counts2)


def test_crop_count_is_cells_with_centre_inside():
    lay = Layout((np.array([[1.0, 1.0], [5.0, 6.0]]), np.array([[7.0, 2.0]])), ("a", "b"), shape=(8, 8))
    crops = LayoutCrops([lay], crop=8, cell=3, flip=True)
    x, counts = crops.batch(3)
    assert counts.tolist() == [[2, 1]] * 3


def test_shared_train_split_loads():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds shared_data.py
    from shared_data import shared_dataset

    cfg = load_config("brca_m2c")
    cfg["data"]["root"] = str(shared_dataset("brca-m2c"))
    assert len(LayoutCrops.from_config(cfg["data"], 0).rasters) == 80


def test_clear_errors(tmp_path):
    cfg = small_cfg(steps=1)
    if not torch.cuda.is_available():
        cfg["train"]["device"] = "cuda"
        with pytest.raises(ValueError, match="no CUDA device"):
            train(cfg, tmp_path / "run")
    cfg = small_cfg(steps=1)
    cfg["data"]["root"] = str(tmp_path / "missing")
    with pytest.raises(ValueError, match="data folder not found"):
        train(cfg, tmp_path / "run")
    (tmp_path / "empty").mkdir()
    cfg["data"].update(root=str(tmp_path / "empty"), format="npy", split=None)
    with pytest.raises(ValueError, match="no .*files found|no training layouts"):
        train(cfg, tmp_path / "run")


def _log(run):
    with open(run / "log.csv", newline="") as fh:
        return {int(r["step"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 3-step run straight through, and the same run stopped at 2 and resumed."""
    root = tmp_path_factory.mktemp("runs")
    cfg = small_cfg(steps=3, save_every=2, log_every=1)
    train(cfg, root / "straight")
    cfg["train"]["steps"] = 2
    train(cfg, root / "resumed")
    with pytest.raises(ValueError, match="--resume"):
        train(cfg, root / "resumed")
    cfg["train"]["steps"] = 3
    train(cfg, root / "resumed", resume=True)
    return root


def test_resume_gives_the_identical_next_step(trained):
    a, b = _log(trained / "straight"), _log(trained / "resumed")
    assert sorted(b) == [1, 2, 3]
    for k in ("loss", "mse", "vb"):
        assert a[3][k] == b[3][k]
    s1 = torch.load(trained / "straight" / "last.pt", weights_only=False)
    s2 = torch.load(trained / "resumed" / "last.pt", weights_only=False)
    assert s1["step"] == s2["step"] == 3
    assert all(torch.equal(s1["ema"][k], s2["ema"][k]) for k in s1["ema"])
    assert (trained / "straight" / "ema_0000002.pt").is_file()


def test_sample_cli_writes_scorable_layouts(trained, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        pts = tuple(rng.uniform(0, 32, (n, 2)) for n in (2, 5, 1))
        np.save(real / f"img{i}.npy", Layout(pts, ("lym", "epi", "stro"), (32, 32)).to_array())
    synth = tmp_path / "synth"
    args = ["sample", "--ckpt", str(trained / "resumed" / "last.pt"), "--counts-from", str(real),
            "--out", str(synth), "--steps", "3", "--batch-size", "2", "--seed", "1"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    files = sorted(synth.glob("*.npy"))
    assert [f.name for f in files] == [f"img{i}_gen.npy" for i in range(3)]
    record = json.loads((synth / "meta" / "counts.json").read_text())
    for f in files:
        arr = np.load(f)
        assert arr.shape == (32, 32, 3) and arr.dtype == np.uint8 and set(np.unique(arr)) <= {0, 1}
        lay = Layout.from_array(arr, channels="last")
        entry = record["layouts"][f.name[:-8]]
        assert entry["generated"] == lay.counts.tolist()
        assert (synth / "meta" / f"{f.stem}.png").is_file()
    assert record["layouts"]["img0"]["condition"] == Layout.from_array(np.load(real / "img0.npy")).counts.tolist()
    mtimes = [f.stat().st_mtime_ns for f in files]
    res = CliRunner().invoke(main, args)  # resumable: everything exists, nothing is redone
    assert res.exit_code == 0 and [f.stat().st_mtime_ns for f in files] == mtimes
    import topofd

    report = topofd.compare(real, synth, metrics=("counts",), classes=("lym", "epi", "stro"))
    assert np.isfinite(report.table.loc["mean", "tce"])


def test_train_cli_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(main, ["train", "--config", "no_such", "--out", str(tmp_path)])
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "topocellgen: error:" in res.output


def test_postprocess_splits_touching_cells():
    x = -np.ones((2, 16, 16))
    x[0, 2:5, 2:9] = 1
    x[0, 2:5, 5] = 0.2  # two cells joined by a dimmer column
    x[0, 10:13, 10:13] = 1
    x[0, 14, 1] = 1  # one pixel: under min_area
    out = postprocess(x, threshold=0.0, min_area=3, cell=3)
    assert out.shape == (16, 16, 2) and out.dtype == np.uint8
    assert Layout.from_array(out, channels="last").counts.tolist() == [3, 0]
