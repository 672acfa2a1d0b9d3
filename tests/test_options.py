"""The options table is the one definition: every option reaches the CLI and
the API with the same default, and a reference file made with an option is
usable by compare with the same option."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from click.testing import CliRunner

import topofd
from topofd.cli import cli
from topofd.options import OptionError, Options, specs


def _cli_params(command: str) -> dict:
    return {p.name: p for p in cli.commands[command].params}


def test_every_option_reaches_cli_and_api_with_one_default():
    api = inspect.signature(topofd.compare).parameters
    ev = inspect.signature(topofd.Evaluator).parameters
    for name, spec, default in specs():
        assert api[name].default == default, name
        if "evaluate" in spec.role:
            assert ev[name].default == default, name
        if spec.flag is None:
            assert spec.api_only, f"{name}: API only without a reason"
            continue
        for command in spec.commands:
            p = _cli_params(command).get(name)
            assert p is not None, f"{spec.flag} missing from topofd {command}"
            want = ",".join(default) if isinstance(default, tuple) else default
            assert p.default == want, (command, name, p.default, default)


def test_cli_help_lists_every_compare_option():
    out = CliRunner().invoke(cli, ["compare", "--help"]).output
    for name, spec, _ in specs():
        if spec.flag and "compare" in spec.commands:
            assert spec.flag.split("/")[-1] in out or spec.flag.split("/")[0] in out, spec.flag


def test_list_options_take_a_comma_string_or_a_sequence():
    assert Options(classes="lym,epi,stro").classes == ("lym", "epi", "stro")
    assert Options(classes=["lym", "epi", "stro"]).classes == ("lym", "epi", "stro")
    assert Options(metrics="topofd, mmd").metrics == ("topofd", "mmd")
    with pytest.raises(OptionError, match="repeated"):
        Options(metrics="mmd,mmd")
    with pytest.raises(TypeError, match="unknown option"):
        topofd.Evaluator(n_job=2)


def test_classes_as_a_string_in_the_api_is_not_split_into_characters():
    rng = np.random.default_rng(0)
    maps = (rng.random((4, 3, 32, 32)) > 0.97).astype(np.uint8)
    ev = topofd.Evaluator(classes="lym,epi,stro", metrics="topokd", pairing="none", uncertainty=False)
    ev.update(maps, real=True)
    ev.update(maps[::-1], real=False)
    assert ev.compute().classes == ("lym", "epi", "stro")


def test_stats_with_alpha_is_usable_by_compare_with_alpha(tmp_path):
    rng = np.random.default_rng(1)
    for d, suffix in (("real", ""), ("synth", "_gen")):
        (tmp_path / d).mkdir()
        for i in range(4):
            m = np.zeros((48, 48, 2), np.uint8)
            for _ in range(12):
                y, x, c = rng.integers(2, 46), rng.integers(2, 46), rng.integers(0, 2)
                m[y, x, c] = 1
            np.save(tmp_path / d / f"p{i}{suffix}.npy", m)
    ref = tmp_path / "a.topofd"
    r = CliRunner().invoke(cli, ["stats", str(tmp_path / "real"), "--complex", "alpha", "--out", str(ref)])
    assert r.exit_code == 0, r.output
    bad = CliRunner().invoke(cli, ["compare", str(ref), str(tmp_path / "synth"), "--metrics", "topofd"])
    assert bad.exit_code == 1 and "--complex alpha" in bad.stderr
    ok = CliRunner().invoke(cli, ["compare", str(ref), str(tmp_path / "synth"), "--complex", "alpha",
                                  "--metrics", "topofd", "--no-se"])
    assert ok.exit_code == 0, ok.output
    direct = topofd.compare(str(tmp_path / "real"), str(tmp_path / "synth"), complex="alpha", metrics="topofd",
                            uncertainty=False)
    via_ref = topofd.compare(str(ref), str(tmp_path / "synth"), complex="alpha", metrics="topofd", uncertainty=False)
    assert direct.table.equals(via_ref.table)
