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

An image that cannot be a layout drawn in these colours is an error, not an
empty layout: one where no pixel has a class colour but the image is not a
single flat colour (other colours, a greyscale image, ``--colors`` not
matching), and one where more pixels lie within a few levels of a class
colour than match it exactly (lossy compression: a JPEG saved as ``.png``).
A flat image (all one colour, or fully transparent) is a layout with no
cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout, default_class_names

SUFFIXES = (".png",)
# a pixel this close to a class colour (largest channel difference) without
# matching it is a near miss; lossy compression turns most cell pixels into those
NEAR = 48
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
        r, g, b = (int(round(x * 255)) for x in rgb)
        return r, g, b
    t = tuple(int(x) for x in value)
    if len(t) != 3 or not all(0 <= x <= 255 for x in t):
        raise ValueError(f"not an RGB triple of 0-255 integers: {value!r}")
    return t[0], t[1], t[2]


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


def class_colors(
    classes: Sequence[str] | None = None, colors=None
) -> tuple[tuple[str, ...], list[tuple[int, int, int]]]:
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


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*tuple(int(v) for v in rgb))


def _check_colours(
    path: Path, rgb: np.ndarray, opaque: np.ndarray, stack: np.ndarray, cols, mode: str, fmt: str | None
) -> None:
    """Refuse an image whose pixels do not carry the class colours (see module docstring)."""
    exact = int(stack.sum())
    diff = np.stack([np.abs(rgb.astype(np.int16) - np.array(c, np.int16)).max(axis=-1) for c in cols])
    near = int(((diff <= NEAR) & (diff > 0) & opaque).sum())
    lossy = f"the file is a {fmt} image" if fmt and fmt != "PNG" else "lossy compression, e.g. a JPEG saved as .png?"
    if near > exact:
        raise ValueError(
            f"{path}: {near} pixels lie within {NEAR} levels of a class colour but only {exact} match "
            f"one exactly ({lossy}); save the layout losslessly"
        )
    if exact == 0:
        px = rgb[opaque].astype(np.uint32)
        packed, n = np.unique((px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2], return_counts=True)
        if len(packed) <= 1:
            return  # a blank canvas: a layout without cells
        top = packed[np.argsort(-n, kind="stable")[:3]]
        seen = ", ".join(_hex(((v >> 16) & 255, (v >> 8) & 255, v & 255)) for v in top)
        kind = f"a greyscale image (mode {mode})" if mode in ("1", "L", "LA", "I", "I;16", "F") else "an image"
        raise ValueError(
            f"{path}: no pixel has a class colour ({', '.join(_hex(c) for c in cols)}); it is {kind} "
            f"of {len(packed)} colours, most common {seen}: pass --colors"
        )


def read(path: str | Path, classes=None, *, colors=None) -> Layout:
    """Layout from a colour-coded image (see module docstring)."""
    from PIL import Image

    path = Path(path)
    names, cols = class_colors(classes, colors)
    try:
        with Image.open(path) as im:
            im.load()
            mode, fmt = im.mode, im.format
            rgba = np.asarray(im.convert("RGBA"))
    except MemoryError:
        raise ValueError(f"{path}: image too large to load") from None
    except Exception as e:  # Pillow raises many types on damaged or hostile files (incl. decompression bombs)
        raise ValueError(f"{path}: corrupt or unreadable image ({e.__class__.__name__})") from None
    rgb = rgba[..., :3]
    opaque = rgba[..., 3] > 0  # fully transparent pixels are background whatever their RGB
    stack = np.stack([np.all(rgb == np.array(c, dtype=np.uint8), axis=-1) & opaque for c in cols])
    _check_colours(path, rgb, opaque, stack, cols, mode, fmt)
    return Layout.from_array(stack, names, channels="first", name=path.stem, source=str(path))
