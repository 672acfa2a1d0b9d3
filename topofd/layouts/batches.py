"""In-memory batches → :class:`Layout`: what ``Evaluator.update`` accepts
from a training or sampling loop (arrays, tensors, layouts, point lists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from topofd.layouts.layout import Layout, default_class_names

__all__ = ["to_numpy", "batch_layouts", "maps_to_layouts"]


def to_numpy(x: Any) -> np.ndarray:
    """An array from numpy, anything with ``__array__``, or a torch tensor
    (duck-typed: torch is never imported here)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def batch_layouts(x: Any, what: str, **maps: Any) -> tuple[list[Layout], float | None, tuple[int, int] | None]:
    """``(layouts, threshold used, canvas)`` of one batch: an array or tensor
    of maps, a list of them, a list of :class:`Layout`, or a list of layouts
    as per-class ``(n, 2)`` point arrays; ``maps``: the keywords of
    :func:`maps_to_layouts` (``classes`` names the point layouts' classes too)."""
    if isinstance(x, (str, bytes, dict)) or x is None:
        raise ValueError(f"{what} batch: expected {_EXPECTED}, not {type(x).__name__}")
    if isinstance(x, Layout):
        return [x], None, None
    if isinstance(x, (list, tuple)):
        if not x:
            return [], None, None
        if all(isinstance(l, Layout) for l in x):
            return list(x), None, None
        if all(isinstance(l, (list, tuple)) for l in x):
            return _point_layouts(x, what, maps.get("classes")), None, None
        if not all(hasattr(l, "__array__") or hasattr(l, "detach") for l in x):
            raise ValueError(f"{what} batch: expected {_EXPECTED}")
        x = np.stack([to_numpy(l) for l in x])
    return maps_to_layouts(to_numpy(x), what, **maps)


_EXPECTED = "an array (B, C, H, W) / (B, H, W, C), a list of Layout or a list of per-class point arrays"


def _point_layouts(x, what: str, classes: Sequence[str] | None) -> list[Layout]:
    out = []
    for i, pts in enumerate(x):
        try:
            arrs = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in pts]
        except (TypeError, ValueError):
            raise ValueError(f"{what} batch, item {i}: per-class point arrays must have shape (n, 2)") from None
        names = tuple(classes) if classes else default_class_names(len(arrs))
        out.append(Layout(tuple(arrs), names, None, "", f"{what} item {i}"))
    return out


def maps_to_layouts(
    a: np.ndarray,
    what: str,
    *,
    classes: Sequence[str] | None,
    channels: str,
    threshold: float | None,
    fixed_threshold: float | None,
) -> tuple[list[Layout], float | None, tuple[int, int] | None]:
    """Layouts of a ``(B, C, H, W)`` / ``(B, H, W, C)`` array of maps.

    Binary (0/1, bool) maps are used as they are; other values are
    thresholded, foreground = value > threshold; ``threshold`` ``None``
    takes ``fixed_threshold`` (set by an earlier batch) or picks 0 for data
    with negative values (the generator's [-1, 1] output) and 0.5 otherwise.
    """
    if a.ndim != 4:
        raise ValueError(f"{what} batch: layout maps must be 4-D (B, C, H, W) or (B, H, W, C), got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{what} batch: non-numeric dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{what} batch: NaN or infinite values")
    if a.shape[0] == 0:  # an empty batch adds nothing (and fixes no threshold)
        return [], None, None
    ch = channels if channels != "auto" else ("first" if a.shape[1] < a.shape[-1] else "last")
    if ch == "last":
        a = np.moveaxis(a, -1, 1)
    binary = a.dtype == bool or (a.size and a.min() >= 0 and a.max() <= 1 and np.isin(a, (0, 1)).all())
    t = fixed_threshold
    if not binary:
        if t is None:
            t = 0.0 if a.min() < 0 else 0.5
        elif threshold is None and t == 0.5 and a.min() < 0:
            raise ValueError(
                f"{what} batch has negative values, but an earlier batch fixed the threshold at 0.5 for [0, 1] "
                "data; pass threshold= explicitly"
            )
    out = []
    for i in range(a.shape[0]):
        m = a[i] if binary else a[i] > t
        out.append(
            Layout.from_array(
                m.astype(np.uint8) if m.dtype == bool else m, classes, channels="first", source=f"{what} batch item {i}"
            )
        )
    return out, (None if binary else t), (a.shape[2], a.shape[3])
