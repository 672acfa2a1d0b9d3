"""Issue 11: the mini config, the shipped checkpoint and its demo, checkpoint
and bad-input handling, branch points, the moment-matched prior, and the GPU
run's CPU smoke path."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from topofd.generator import build  # noqa: E402
from topofd.generator.cli import main  # noqa: E402
from topofd.generator.config import load_config  # noqa: E402
from topofd.generator.demo import SHIPPED, shipped_record  # noqa: E402
from topofd.generator.sample import layout_mean  # noqa: E402
from topofd.generator.train import config_hash, load_checkpoint, train  # noqa: E402

BUNDLED = Path(__file__).resolve().parents[2] / "topofd" / "data" / "brca_m2c"
GPU_RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_run.py"


# the one-thread fixture (autouse) and the 32x32 tiny config of the generator tests
from test_generator import one_thread, small_cfg as tiny32  # noqa: E402,F401


def small_cfg(**train_kw):
    cfg = tiny32(**train_kw)
    cfg["losses"]["workers"] = 1
    return cfg


def one_line_error(res, *needles):
    assert res.exit_code == 1, res.output
    assert res.output.count("\n") == 1 and res.output.startswith("topocellgen: error:"), res.output
    for n in needles:
        assert n in res.output, res.output


# ------------------------------------------------------------ config, checkpoint
def test_mini_config_and_shipped_checkpoint():
    cfg = load_config("mini")
    assert cfg["model"]["image_size"] == cfg["data"]["crop"] == 128
    assert cfg["losses"]["lambda_count"] == load_config("brca_m2c")["losses"]["lambda_count"]
    rec = shipped_record()  # checks the file's SHA-256 against its record
    assert SHIPPED.stat().st_size < 8 * 2**20 and rec["bytes"] == SHIPPED.stat().st_size
    state = load_checkpoint(SHIPPED, ("ema", "config", "step"))
    # the shipped weights are the bundled mini config's, trained for its steps
    assert rec["config_hash"] == state["config_hash"] == config_hash(cfg)
    assert state["step"] == rec["step"] == cfg["train"]["steps"]
    assert any("generator_learning.py" in c for c in rec["training_commands"])
    model, _ = build(state["config"])
    model.load_state_dict(state["ema"])


def test_corrupted_or_foreign_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "mini.pt"
    shutil.copy(SHIPPED, bad)
    shutil.copy(SHIPPED.with_suffix(".json"), tmp_path / "mini.json")
    with open(bad, "r+b") as fh:  # one flipped byte in the middle
        fh.seek(SHIPPED.stat().st_size // 2)
        b = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="corrupted"):
        shipped_record(bad)
    (tmp_path / "cut.pt").write_bytes(SHIPPED.read_bytes()[:5000])
    (tmp_path / "text.pt").write_text("not a checkpoint")
    real = tmp_path / "real"
    real.mkdir()
    for name in ("cut.pt", "text.pt"):
        res = CliRunner().invoke(main, ["sample", "--ckpt", str(tmp_path / name), "--counts-from", str(BUNDLED),
                                        "--out", str(tmp_path / "o")])
        one_line_error(res, name, "not a readable generator checkpoint")
    assert not (tmp_path / "o").exists()
    # right format, weights of another model
    state = load_checkpoint(SHIPPED, ("ema", "config"))
    state["config"] = load_config("tiny")
    state["config_hash"] = config_hash(state["config"])
    torch.save(state, tmp_path / "other.pt")
    res = CliRunner().invoke(main, ["demo", "--ckpt", str(tmp_path / "other.pt"), "--n", "2", "--steps", "1"])
    one_line_error(res, "other.pt", "do not fit the model of its config")


def test_resume_with_another_config_is_refused(tmp_path):
    cfg = small_cfg(steps=1, save_every=1)
    train(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "ema_0000000.pt").is_file()  # the step-0 point of a learning curve
    other = dict(cfg, train={**cfg["train"], "lr": 0.5, "steps": 2})
    (tmp_path / "other.yaml").write_text(json.dumps(other))  # JSON is YAML
    res = CliRunner().invoke(main, ["train", "--config", str(tmp_path / "other.yaml"), "--out", str(tmp_path / "run"),
                                    "--resume"])
    one_line_error(res, "last.pt", "trained with another config")
    # more steps is the same config: resumes
    cfg["train"]["steps"] = 2
    train(cfg, tmp_path / "run", resume=True)
    assert load_checkpoint(tmp_path / "run" / "last.pt", ("step",))["step"] == 2


def test_branch_point_and_wall_time_limit(tmp_path):
    cfg = small_cfg(steps=3, save_every=10, log_every=1, stage1_steps=2)
    last = train(cfg, tmp_path / "run", max_seconds=1e-6)  # stops after its first step
    assert load_checkpoint(last, ("step",))["step"] == 1
    train(cfg, tmp_path / "run", resume=True)
    s1 = load_checkpoint(tmp_path / "run" / "stage1.pt", ("model", "opt", "step"))
    assert s1["step"] == 2 and load_checkpoint(last, ("step",))["step"] == 3
    log = (tmp_path / "run" / "log.csv").read_text()
    assert "count" in log.splitlines()[0] and log.splitlines()[-1].split(",")[0] == "3"


# ------------------------------------------------------------------ bad input
def test_bad_inputs_one_line(tmp_path):
    runner = CliRunner()
    for args in (["train", "--config", "tiny", "--out", str(tmp_path / "r"), "--steps", "0"],
                 ["sample", "--ckpt", str(SHIPPED), "--counts-from", str(BUNDLED), "--out", str(tmp_path / "s"),
                  "--steps", "0"],
                 ["demo", "--steps", "0"], ["demo", "--n", "0"]):
        one_line_error(runner.invoke(main, args), "must be a positive integer")
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()
    csv = tmp_path / "counts.csv"
    csv.write_text("name,lym,epi,stro,extra\na,1,2,3,4\n")
    res = runner.invoke(main, ["sample", "--ckpt", str(SHIPPED), "--counts", str(csv), "--out", str(tmp_path / "s")])
    one_line_error(res, "counts.csv", "4 class columns, the model has 3")
    csv.write_text("name,lym,epi,stro\na,1,2,3\nb,1,-2,3\n")
    res = runner.invoke(main, ["sample", "--ckpt", str(SHIPPED), "--counts", str(csv), "--out", str(tmp_path / "s")])
    one_line_error(res, "counts.csv:3", "non-negative integer counts")
    assert not (tmp_path / "s").exists()


def test_sample_folder_resumes_its_own_run_and_refuses_others(tmp_path):
    csv = tmp_path / "counts.csv"
    csv.write_text("name,lym,epi,stro\na,0,5,2\nb,3,0,1\n")
    out = tmp_path / "synth"
    base = ["sample", "--ckpt", str(SHIPPED), "--counts", str(csv), "--out", str(out), "--batch-size", "1"]
    runner = CliRunner()
    assert runner.invoke(main, base + ["--steps", "2"]).exit_code == 0
    first = (out / "a_gen.npy").read_bytes()
    (out / "b_gen.npy").unlink()  # an interrupted run: completed, a_gen kept as it was
    assert runner.invoke(main, base + ["--steps", "2"]).exit_code == 0
    assert (out / "b_gen.npy").is_file() and (out / "a_gen.npy").read_bytes() == first
    one_line_error(runner.invoke(main, base + ["--steps", "3"]), "already holds 2 layouts of another sampling run")
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "z_gen.npy", np.zeros((128, 128, 3), np.uint8))
    one_line_error(runner.invoke(main, base[:5] + ["--out", str(other)]), "another sampling run")
    assert sorted(p.name for p in other.iterdir()) == ["z_gen.npy"]  # nothing written


# ---------------------------------------------------------------------- prior
def test_moment_matched_prior():
    _, diffusion = build(load_config("mini"))
    process = diffusion.respaced("ddim20")
    counts = torch.tensor([[0.0, 100.0, 20.0]])
    mu = layout_mean(counts, 128, 3)
    assert mu.shape == (1, 3, 1, 1) and mu[0, 0].item() == -1.0
    assert abs(mu[0, 1].item() - (2 * 900 / 128**2 - 1)) < 1e-6
    z = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    x = process.start(z, mu)
    ac = float(process.alphas_cumprod[-1])
    # the forward marginal's mean: sqrt(alpha_bar_T) E[x0]
    assert torch.allclose(x - np.sqrt(1 - ac) * z, np.sqrt(ac) * mu.expand_as(x), atol=1e-6)
    assert torch.equal(process.start(z), z)


# ----------------------------------------------------------------------- demo
def test_demo_prints_scores_and_writes_all_or_nothing(tmp_path):
    out, js = tmp_path / "demo", tmp_path / "demo.json"
    res = CliRunner().invoke(main, ["demo", "--n", "4", "--steps", "2", "--protocol", "grid", "--out", str(out),
                                    "--json", str(js), "--threads", "1"])
    assert res.exit_code == 0, res.output
    for row in ("generator", "random (matched counts)", "average counts", "TopoFD grid", "TCE"):
        assert row in res.output
    rec = json.loads(js.read_text())
    assert rec["n_windows"] == 4 and rec["window"] == 128 and np.isfinite(rec["rows"]["generator"]["topofd_grid"])
    assert len(list((out / "real").glob("*.npy"))) == len(list((out / "synth").glob("*_gen.npy"))) == 4
    res = CliRunner().invoke(main, ["demo", "--n", "4", "--steps", "2", "--out", str(out)])
    one_line_error(res, "already holds files")


# ------------------------------------------------------------------- GPU run
@pytest.mark.skipif(not GPU_RUN.is_file(), reason="benchmarks/gpu_run.py is not in this tree")
def test_gpu_run_smoke_resumes_to_one_json(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from shared_data import shared_dataset

    data = shared_dataset("brca-m2c")
    # the benchmarks package alone on the path (a link to it), not the source folder: topofd must be the
    # installed package, whose topofd.generator the source tree does not have
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "benchmarks").symlink_to(GPU_RUN.parent, target_is_directory=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1", "PYTHONPATH": os.pathsep.join(
        [str(pkg), *filter(None, [os.environ.get("PYTHONPATH")])])}
    cmd = [sys.executable, "-m", "benchmarks.gpu_run", "--smoke", "--work", str(tmp_path / "w"), "--data", str(data),
           "--jobs", "1", "--max-seconds", "12"]
    codes = []
    for _ in range(8):  # a short per-call limit: stages resume across calls
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
        codes.append(r.returncode)
        if r.returncode != 75:
            break
    assert codes[-1] == 0 and 75 in codes, (codes, r.stdout[-2000:], r.stderr[-2000:])
    rep = json.loads((tmp_path / "w" / "gpu_run.json").read_text())
    assert rep["complete"] and rep["env"]["smoke"]
    for k in ("paper_step", "paper_sample", "small_plan", "small_train", "small_sample", "small_score"):
        assert k in rep
    assert rep["paper_step"]["stage2"]["step_s_median"] > 0 and rep["paper_sample"]["layouts_per_s"] > 0
    assert rep["small_train"]["steps_done"] >= 1 and np.isfinite(rep["small_score"]["topofd_grid"])
    r = subprocess.run([sys.executable, "-m", "benchmarks.gpu_run", "--work", str(tmp_path / "w2"), "--data",
                        str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "brca_ds_train.txt" in r.stderr
