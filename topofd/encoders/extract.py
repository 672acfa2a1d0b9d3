"""Feature extractors: the shipped BRCA-M2C layout encoder, any TorchScript
or ONNX file, or a Python callable, each mapping a float32 batch
``(B, C, 128, 128)`` of rasterised layouts (:mod:`topofd.encoders.raster`)
to ``(B, D)`` features.

torch is imported only here, inside functions, when an extractor is loaded:
``import topofd`` stays torch-free.  torch rather than onnxruntime is the
``[fid]`` extra because it is already the generator's dependency and loads
TorchScript (the shipped encoder) with ``torch.jit.load``; an ``.onnx`` file
is run with onnxruntime when that is importable, and refused in one line
otherwise.  A file that does not load, or a model that fails on (or returns
something other than ``(B, D)`` for) a batch of the layouts' class count, is
a one-line :class:`~topofd.option_spec.OptionError` naming the file.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from topofd.encoders.raster import SIZE, rasterise_set
from topofd.option_spec import OptionError

__all__ = ["SHIPPED", "shipped_record", "Extractor", "load_extractor", "encode"]

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "encoders" / "brca_m2c.pt"
_BATCH = 128
_LOADED: OrderedDict = OrderedDict()
_FEATURES: OrderedDict = OrderedDict()


def shipped_record() -> dict:
    """The JSON record of the shipped encoder (training command, data hash, sha256, config)."""
    return json.loads(SHIPPED.with_suffix(".json").read_text())


def _fail(name: str, why: str) -> OptionError:
    return OptionError("extractor", f"{name}: {' '.join(str(why).split())[:300]}")


class Extractor:
    """A loaded extractor: ``name`` (the file, or the callable's name),
    ``sha256`` (of the file; ``None`` for a callable), ``run(batch)``."""

    def __init__(self, name: str, run: Callable[[np.ndarray], Any], sha256: str | None):
        self.name, self._run, self.sha256 = name, run, sha256

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        try:
            y = self._run(np.ascontiguousarray(batch, np.float32))
            y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y, np.float64)
        except Exception as e:  # noqa: BLE001 - any failure of foreign code is the model's
            C = batch.shape[1]
            # TorchScript puts its interpreter traceback first; the cause is the last line
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
            why = f"fails on a {C}-channel batch {tuple(batch.shape)} ({C} classes): {lines[-1]}"
            raise _fail(self.name, why) from None
        if y.ndim != 2 or len(y) != len(batch):
            raise _fail(self.name, f"returned shape {y.shape} for a batch of {len(batch)}; expected (B, D)")
        if not np.isfinite(y).all():
            raise _fail(self.name, "returned NaN or infinite features")
        return y


def _torchscript(path: Path, name: str) -> Callable:
    try:
        import torch
    except ImportError:  # not the file's fault, nor the option's: the extra is missing
        raise ValueError("FID and KID need torch to run a TorchScript extractor: pip install 'topofd[fid]'") from None
    try:
        model = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as e:  # noqa: BLE001
        raise _fail(name, f"not a loadable TorchScript file ({type(e).__name__}: {str(e).splitlines()[0]})") from None

    def run(x):
        with torch.inference_mode():
            return model(torch.from_numpy(x))

    return run


def _onnx(path: Path, name: str) -> Callable:
    try:
        import onnxruntime as ort
    except ImportError:
        raise _fail(name, "an ONNX extractor needs onnxruntime (pip install onnxruntime)") from None
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        raise _fail(name, f"not a loadable ONNX file ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    inp = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {inp: x})[0]


def load_extractor(spec: Any = None) -> Extractor:
    """The extractor of the ``extractor`` option: ``None`` (the shipped
    encoder), a path (``.onnx``: ONNX; anything else: TorchScript) or a
    callable (numpy ``(B, C, H, W)`` float32 → ``(B, D)`` array or tensor)."""
    if spec is not None and callable(spec) and not isinstance(spec, (str, Path)):
        return Extractor(getattr(spec, "__name__", type(spec).__name__), spec, None)
    path = Path(spec) if spec is not None else SHIPPED
    name = str(path)
    if not path.is_file():
        raise _fail(name, "no such file")
    from topofd.encoders.train import file_sha256

    sha = file_sha256(path)
    if spec is None and sha != shipped_record()["sha256"]:
        raise _fail(name, "the shipped encoder does not match the sha256 of its record (a damaged install?)")
    # the loaded model is shared by identical files; the name stays the one asked for (messages, report)
    run = _LOADED.get(sha) or (_onnx(path, name) if path.suffix.lower() == ".onnx" else _torchscript(path, name))
    _LOADED[sha] = run
    while len(_LOADED) > 4:
        _LOADED.popitem(last=False)
    return Extractor(name, run, sha)


def encode(ex: Extractor, points: Sequence, canvases: Sequence | None, keys: Sequence | None = None) -> np.ndarray:
    """``(n, D)`` features of ``n`` layouts (``points[i]``: per-class cells;
    ``canvases[i]``: ``(H, W)`` or ``None``), rasterised at ``SIZE`` px and
    encoded in batches; with content ``keys`` (and a file extractor) the
    result is remembered for the next metric of the same comparison."""
    cs = list(canvases) if canvases is not None else [None] * len(points)
    # content keys hold the cells, not the canvas: both make the memo's key
    memo = (ex.sha256, tuple(keys), tuple(cs)) if keys is not None and ex.sha256 is not None else None
    if memo is not None and memo in _FEATURES:
        return _FEATURES[memo]
    out = [ex(rasterise_set(points[a : a + _BATCH], cs[a : a + _BATCH], SIZE)) for a in range(0, len(points), _BATCH)]
    widths = sorted({f.shape[1] for f in out})
    if len(widths) > 1:
        raise _fail(ex.name, f"returned {widths[0]} features for one batch and {widths[-1]} for another; expected one")
    F = np.concatenate(out) if out else np.zeros((0, 0))
    if memo is not None:
        _FEATURES[memo] = F
        while len(_FEATURES) > 4:
            _FEATURES.popitem(last=False)
    return F
