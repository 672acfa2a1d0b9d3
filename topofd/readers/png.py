"""Colour-coded layout images (``.png``): one colour per class.

Every pixel whose RGB value equals a class colour belongs to that class;
any other pixel (black, white, anti-aliasing) is background.  Each class mask
is then split into cells exactly as a binary layout channel is
(:meth:`Layout.from_array`: 4-connected components, centre of mass), so a
layout written as ``.npy`` and as a colour image gives the same centres as
long as no pixel carries two classes.

Default colours, in class order: red ``#ff0000``, green ``#00ff00``, blue
``#0000ff``, yellow ``#ffff00``, magenta ``#ff00ff``, cyan ``#00ffff``,
orange ``#ff8000``, violet ``#8000ff``.  Without ``classes`` or ``colors``
a file is read as three classes (red, green, blue).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..layout import Layout, default_class_names

SUFFIXES = (".png",)
PALETTE = ("#ff0000", "#00ff00", "#0000ff", "#ffff00", "#ff00ff", "#00ffff", "#ff8000", "#8000ff")
DEFAULT_N_CLASSES = 3


def parse_color(value) -> tuple[int, int, int]:
    """``"#rrggbb"``, ``"#rgb"``, a matplotlib colour name, or an RGB triple
    (0-255 integers) → ``(r, g, b)`` integers."""
    if isinstance(value, str):
        from matplotlib.colors import to_rgb

        try:
            rgb = to_rgb(value.strip())
        except ValueError:
            raise ValueError(f"not a colour: {value!r} (use #rrggbb or a colour name)") from None
        return tuple(int(round(x * 255)) for x in rgb)
    t = tuple(int(x) for x in value)
    if len(t) != 3 or not all(0 <= x <= 255 for x in t):
        raise ValueError(f"not an RGB triple of 0-255 integers: {value!r}")
    return t


def parse_colors(spec) -> dict[str, tuple[int, int, int]] | list[tuple[int, int, int]]:
    """``"lym=#ff0000,epi=#00ff00"`` (named) or ``"#ff0000,#00ff00"`` (in
    class order); mappings and sequences pass through with colours parsed."""
    if isinstance(spec, Mapping):
        return {str(k): parse_color(v) for k, v in spec.items()}
    if isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
        if not items:
            raise ValueError("empty colour list")
        named = ["=" in s for s in items]
        if all(named):
            out = {}
            for s in items:
                k, v = s.split("=", 1)
                out[k.strip()] = parse_color(v)
            return out
        if any(named):
            raise ValueError(f"colour list {spec!r} mixes 'name=colour' and bare colours")
        return [parse_color(s) for s in items]
    return [parse_color(c) for c in spec]


def class_colors(classes: Sequence[str] | None = None, colors=None) -> tuple[tuple[str, ...], list[tuple[int, int, int]]]:
    """Resolve ``(class names, RGB colour per class)`` from the options."""
    cmap = parse_colors(colors) if colors is not None else None
    if isinstance(cmap, dict):
        names = tuple(classes) if classes is not None else tuple(cmap)
        missing = [c for c in names if c not in cmap]
        if missing:
            raise ValueError(f"no colour given for class(es) {', '.join(missing)}")
        cols = [cmap[c] for c in names]
    else:
        n = len(classes) if classes is not None else (len(cmap) if cmap else DEFAULT_N_CLASSES)
        names = tuple(classes) if classes is not None else default_class_names(n)
        if cmap is None:
            if n > len(PALETTE):
                raise ValueError(f"{n} classes but only {len(PALETTE)} default colours; pass colors")
            cmap = [parse_color(c) for c in PALETTE[:n]]
        if len(cmap) != n:
            raise ValueError(f"{len(cmap)} colours for {n} classes")
        cols = list(cmap)
    if len(set(cols)) != len(cols):
        raise ValueError("two classes share a colour")
    return names, cols


def read(path: str | Path, classes=None, *, colors=None) -> Layout:
    """Layout from a colour-coded image (see module docstring)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    names, cols = class_colors(classes, colors)
    try:
        with Image.open(path) as im:
            im.load()
            rgba = np.asarray(im.convert("RGBA"))
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise ValueError(f"{path}: corrupt or unreadable image ({e.__class__.__name__})") from None
    rgb = rgba[..., :3]
    opaque = rgba[..., 3] > 0  # fully transparent pixels are background whatever their RGB
    stack = np.stack([np.all(rgb == np.array(c, dtype=np.uint8), axis=-1) & opaque for c in cols])
    return Layout.from_array(stack, names, channels="first", name=path.stem, source=str(path))
