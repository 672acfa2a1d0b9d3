"""Matching two sets: real/synthetic pairing by name (:func:`pair_names`),
class names and order (:func:`match_classes`, :func:`match_sets`) and canvas
sizes (:func:`match_canvases`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from topofd.layouts.layout import Layout, default_class_names, extent_of

__all__ = [
    "pair_names",
    "Pairing",
    "match_sets",
    "match_classes",
    "match_canvases",
    "match_train",
    "set_classes",
    "ClassMatch",
    "empty_class_notes",
    "SEPARATORS",
]

# what may follow a real name at the start of a synthetic one (``X`` ↔ ``X_gen``)
SEPARATORS = "_-."


# ------------------------------------------------------------------ pairing
@dataclass(frozen=True)
class Pairing:
    """Result of :func:`pair_names`: ``pairs`` as ``(real_index,
    synth_index)``, the indices left unpaired on each side, and ``notes``
    (strings for the report) on pairings that deserve a look."""

    pairs: list[tuple[int, int]]
    unmatched_real: list[int]
    unmatched_synth: list[int]
    notes: list[str] = field(default_factory=list)


def _pattern(rest: str) -> str:
    return re.sub(r"\d+", "#", rest)


def pair_names(real_names: Sequence[str], synth_names: Sequence[str]) -> Pairing:
    """Pair synthetic with real layouts by name: a synthetic layout pairs
    with the real layout whose name is the longest one that equals its own
    or starts it followed by a separator (``_``, ``-`` or ``.``): ``X`` ↔
    ``X``, ``X_gen``, ``X-1``, ``X.s0``; never ``img_1`` ↔ ``img_10_gen``
    (the published script pairs by bare prefix, which does; on names like
    the published ``<real>_gen`` both rules give the same pairs).  A real
    layout may pair with several synthetic ones (several samples per
    condition).

    Notes report (i) synthetic names that start with a real name without a
    separator after it (``img_10_gen`` and real ``img_1``: not paired with
    it), and (ii) pairs that do not all follow one naming pattern (the
    synthetic name after the real one, digits counted as one symbol):
    ``img_1_gen`` ↔ ``img`` among ``X_gen`` ↔ ``X`` pairs (is ``img_1``
    missing?).
    """
    index: dict[str, int] = {}
    for i, r in enumerate(real_names):
        index.setdefault(r, i)
    pairs, unmatched_synth, near = [], [], []
    for j, s in enumerate(synth_names):
        best = index.get(s)
        if best is None:
            # longest first: walk the separator positions from the right
            for k in range(len(s) - 1, 0, -1):
                if s[k] in SEPARATORS and s[:k] in index:
                    best = index[s[:k]]
                    break
        chosen = len(real_names[best]) if best is not None else 0
        # a longer real name that starts s without a separator after it
        loose = next((s[:k] for k in range(len(s) - 1, chosen, -1) if s[:k] in index and s[k] not in SEPARATORS), None)
        if loose is not None:
            near.append((s, loose, None if best is None else real_names[best]))
        if best is None:
            unmatched_synth.append(j)
        else:
            pairs.append((best, j))
    used = {i for i, _ in pairs}
    notes = []
    if near:
        s, r, got = near[0]
        how = f"paired with '{got}' instead" if got is not None else "left unpaired"
        notes.append(
            f"{len(near)} synthetic layout name(s) start with a real layout's name without a separator "
            f"({' '.join(SEPARATORS)}) after it, so they do not pair with it (e.g. '{s}' and real '{r}': "
            f"{how}); is a real file missing?"
        )
    rest = Counter(_pattern(synth_names[j][len(real_names[i]) :]) for i, j in pairs)
    if len(rest) > 1:
        rare = min(rest, key=lambda p: (rest[p], p))
        i, j = next((i, j) for i, j in pairs if _pattern(synth_names[j][len(real_names[i]) :]) == rare)
        kinds = ", ".join(f"<real>{p!r} x{n}" for p, n in rest.most_common())
        notes.append(
            f"pairs follow {len(rest)} naming patterns ({kinds}; e.g. '{synth_names[j]}' with real "
            f"'{real_names[i]}'): check that no real file is missing"
        )
    return Pairing(pairs, [i for i in range(len(real_names)) if i not in used], unmatched_synth, notes)


# ----------------------------------------------------------------- matching
def _where(l: Layout) -> str:
    return l.source or l.name or "a layout"


def _shape_str(shape) -> str:
    return f"{shape[0]}x{shape[1]}"


def set_classes(what: str, layouts: Sequence[Layout]) -> tuple[tuple[str, ...], str]:
    """The class names every layout of a set shares, and where they come
    from (:data:`topofd.layouts.layout.CLASS_ORIGINS`; ``content`` if any layout's
    are, else ``positional`` if any, else ``default``).  ``ValueError``
    naming the first layout whose class count or names differ from the
    majority's (``what``: ``"real"``/``"synthetic"``, for the message)."""
    ls = list(layouts)
    counts = Counter(l.n_classes for l in ls)
    major = max(counts, key=lambda c: (counts[c], c == ls[0].n_classes))
    if len(counts) > 1:
        bad = next(l for l in ls if l.n_classes != major)
        ok = next(l for l in ls if l.n_classes == major)
        raise ValueError(
            f"{_where(bad)}: {bad.n_classes} classes, but {counts[major]} other {what} layouts have "
            f"{major} (e.g. {_where(ok)})"
        )
    if major == 0:
        raise ValueError(
            f"{what} layouts have no classes (e.g. {_where(ls[0])}: no cell to take class names from); pass --classes"
        )
    names = Counter(l.classes for l in ls)
    top = max(names, key=lambda n: (names[n], n == ls[0].classes))
    if len(names) > 1:
        bad = next(l for l in ls if l.classes != top)
        raise ValueError(
            f"{_where(bad)}: classes {', '.join(bad.classes)} differ from those of the other {what} "
            f"layouts ({', '.join(top)}); pass --classes"
        )
    if len(set(top)) != len(top):
        dup = next(c for c in top if top.count(c) > 1)
        raise ValueError(f"{what} layouts name two classes {dup!r} (e.g. {_where(ls[0])})")
    origins = {l.class_origin for l in ls}
    return top, next(o for o in ("content", "positional", "default") if o in origins)


@dataclass(frozen=True)
class ClassMatch:
    """Result of :func:`match_classes`: the report's class ``names``, for
    each set the old class index of every new class (``None``: unchanged
    order), and notes (strings) for the report."""

    names: tuple[str, ...]
    real_order: list[int] | None
    synth_order: list[int] | None
    notes: list[str] = field(default_factory=list)


def match_classes(
    real: tuple[Sequence[str], str], synth: tuple[Sequence[str], str], classes: Sequence[str] | None = None
) -> ClassMatch:
    """Match the classes of two sets from their ``(names, origin)`` (what
    :func:`set_classes` returns); the rules are :func:`match_sets`'."""
    nr, orr = tuple(real[0]), real[1]
    ns, ors = tuple(synth[0]), synth[1]
    if classes is not None:
        names = tuple(str(c) for c in classes)
        if len(set(names)) != len(names):
            raise ValueError(f"repeated class name in {', '.join(names)}")
        orders: dict[str, list[int] | None] = {}
        notes: list[str] = []
        for what, have, origin in (("real", nr, orr), ("synthetic", ns, ors)):
            if len(have) != len(names):
                raise ValueError(f"{len(names)} class names given for {what} layouts with {len(have)} classes")
            orders[what] = None
            if have == names:
                continue
            if set(have) == set(names):
                orders[what] = [have.index(c) for c in names]
                notes.append(f"{what} classes matched by name: {', '.join(have)} reordered to {', '.join(names)}")
            elif origin == "content":
                raise ValueError(f"{what} layouts name their classes {', '.join(have)}, not {', '.join(names)}")
            elif origin == "positional":
                notes.append(f"{what} classes {', '.join(have)} renamed by position to {', '.join(names)}")
        return ClassMatch(names, orders["real"], orders["synthetic"], notes)
    if nr == ns:
        return ClassMatch(nr, None, None, [])
    if orr != "default" and ors != "default":
        if set(nr) != set(ns):
            miss, extra = [c for c in nr if c not in ns], [c for c in ns if c not in nr]
            diff = "; ".join(
                x
                for x in (
                    f"synthetic lacks {', '.join(miss)}" if miss else "",
                    f"real lacks {', '.join(extra)}" if extra else "",
                )
                if x
            )
            raise ValueError(
                f"cannot match classes by name: real layouts have {', '.join(nr)}, synthetic layouts "
                f"have {', '.join(ns)} ({diff}); rename them, or pass --classes A,B,... to name the "
                "classes of both sets"
            )
        return ClassMatch(
            nr,
            None,
            [ns.index(c) for c in nr],
            [f"classes matched by name: synthetic {', '.join(ns)} reordered to the real {', '.join(nr)}"],
        )
    if len(nr) != len(ns):
        raise ValueError(f"class count mismatch: real layouts have {len(nr)} classes, synthetic layouts have {len(ns)}")
    named_what, named, named_origin, other = (
        ("real", nr, orr, "synthetic") if orr != "default" else ("synthetic", ns, ors, "real")
    )
    numbered = ", ".join(default_class_names(len(named)))
    if named_origin == "content":
        raise ValueError(
            f"cannot match classes: {named_what} layouts name their classes ({', '.join(named)}, read "
            f"from the files and sorted by name) but {other} layouts only number them ({numbered}); "
            f"pass --classes A,B,... in the {other} layouts' channel order"
        )
    return ClassMatch(
        named, None, None, [f"classes matched by position: {other} {numbered} taken as {', '.join(named)}"]
    )


def match_canvases(
    real_shapes: Mapping, synth_shapes: Mapping, *, real_extent=None, synth_extent=None, examples: Mapping | None = None
) -> list[str]:
    """Notes on the canvas sizes of two sets, from ``{(H, W): n_layouts}``
    per set (layouts without a size left out); ``ValueError`` when each set
    has one size and they differ.  ``*_extent``: the largest ``(row, col)``
    of a set's cells, checked against the other set's canvas when the set has
    no size; ``examples``: ``{"real"/"synthetic": file}`` for the error."""
    notes = []
    for what, c in (("real", real_shapes), ("synthetic", synth_shapes)):
        if len(c) > 1:
            top = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
            sizes = ", ".join(f"{_shape_str(k)}: {n}" for k, n in top[:4]) + (", ..." if len(c) > 4 else "")
            notes.append(
                f"{what} layouts have {len(c)} canvas sizes ({sizes}); persistence and counts scale with the canvas"
            )
    r, s = set(real_shapes), set(synth_shapes)
    if r and s and r != s:
        if len(r) == 1 and len(s) == 1:
            ex = examples or {}
            eg = {
                k: f" (e.g. {v})" if v else ""
                for k, v in (("real", ex.get("real")), ("synthetic", ex.get("synthetic")))
            }
            raise ValueError(
                f"canvas sizes differ: real layouts are {_shape_str(next(iter(r)))}{eg['real']}, "
                f"synthetic layouts {_shape_str(next(iter(s)))}{eg['synthetic']}; compare layouts of "
                "one size"
            )
        notes.append(
            "canvas sizes differ between the sets: real "
            + ", ".join(map(_shape_str, sorted(r)))
            + "; synthetic "
            + ", ".join(map(_shape_str, sorted(s)))
        )
    for what, shapes, extent, other, canvas in (
        ("real", r, real_extent, "synthetic", s),
        ("synthetic", s, synth_extent, "real", r),
    ):
        if canvas and not shapes and extent is not None:
            H, W = max(h for h, _ in canvas), max(w for _, w in canvas)
            if extent[0] > H or extent[1] > W:
                notes.append(
                    f"{what} layouts have no canvas size and their cells reach x={extent[1]:g}, "
                    f"y={extent[0]:g}, beyond the {other} canvas ({H}x{W}): another unit or frame?"
                )
    return notes


def match_sets(real: Sequence[Layout], synth: Sequence[Layout], classes: Sequence[str] | None = None):
    """Check that two sets of layouts describe the same classes on the same
    canvas, and put the synthetic classes in the real order.

    Returns ``(real, synth, names, notes)``: both lists with every layout's
    classes named ``names`` in one order (reordered where matched by name),
    and notes (strings) for the report.  Rules, in order:

    * Within a set, every layout has the class count and names of the
      majority; otherwise ``ValueError`` naming the first layout that does
      not (:func:`set_classes`).
    * ``classes`` given: they name the classes of both sets.  A set whose
      names are a permutation of them is reordered by name; a set with
      positional or placeholder names (``class1..classC``) is renamed by
      position; a set whose names came from its files' content and differ
      is refused.
    * Otherwise, same names → as they are.  Both sets carry names (given,
      a format's own like BRCA-M2C's, or read from the files) → matched by
      name, the synthetic classes reordered into the real order; different
      name sets are refused.  One set has only placeholders
      ``class1..classC``: if the other's names have a fixed order (given or
      the format's) the classes are matched by position (with a note); if
      they were read from the files' content (point tables, GeoJSON: sorted
      alphabetically, so their order means nothing), refused: pass
      ``classes`` in channel order.
    * Canvas sizes (:func:`match_canvases`): a set that mixes sizes gets a
      note (Lizard images differ in size); two sets each of one size, and
      different sizes, are refused; sets of several sizes that differ get a
      note; a set without canvas size whose cells reach beyond the other
      set's canvas gets a note.
    """
    real, synth = list(real), list(synth)
    if not real:
        raise ValueError("real set: no layouts")
    if not synth:
        raise ValueError("synthetic set: no layouts")
    cr, cs = set_classes("real", real), set_classes("synthetic", synth)
    if classes is None and cr[0] != cs[0] and "default" in (cr[1], cs[1]) and len(cr[0]) != len(cs[0]):
        raise ValueError(
            f"class count mismatch: real layouts have {len(cr[0])} classes (e.g. {_where(real[0])}), "
            f"synthetic layouts have {len(cs[0])} (e.g. {_where(synth[0])})"
        )
    m = match_classes(cr, cs, classes)
    if m.names != cr[0] or m.real_order is not None:
        real = [l.with_classes(m.names, m.real_order) for l in real]
    if m.names != cs[0] or m.synth_order is not None:
        synth = [l.with_classes(m.names, m.synth_order) for l in synth]
    shapes = {}
    for what, ls in (("real", real), ("synthetic", synth)):
        shapes[what] = Counter(l.shape for l in ls if l.shape is not None)
    examples = {
        what: next((_where(l) for l in ls if l.shape is not None), None)
        for what, ls in (("real", real), ("synthetic", synth))
    }
    notes = list(m.notes) + match_canvases(
        shapes["real"],
        shapes["synthetic"],
        examples=examples,
        real_extent=None if shapes["real"] else extent_of(real),
        synth_extent=None if shapes["synthetic"] else extent_of(synth),
    )
    return real, synth, m.names, notes


def empty_class_notes(
    counts_real: np.ndarray, counts_synth: np.ndarray, names: Sequence[str]
) -> tuple[list[str], list[bool]]:
    """Notes on classes without cells, and per class whether it is empty in
    both sets (then it is not scored).  ``ValueError`` when a set has no
    cell at all."""
    notes = []
    for what, counts in (("real", counts_real), ("synthetic", counts_synth)):
        if int(counts.sum()) == 0:
            raise ValueError(f"{what} set: no cells in any layout (check the files, --threshold or --colors)")
        for k, c in enumerate(names):
            if int(counts[:, k].sum()) == 0:
                notes.append(f"class {c} has no cells in the {what} set")
    both = [int(counts_real[:, k].sum()) == 0 and int(counts_synth[:, k].sum()) == 0 for k in range(len(names))]
    notes += [f"class {c} is empty in both sets: not scored, left out of the mean" for c, b in zip(names, both) if b]
    return notes, both


def match_train(names: Sequence[str], train: tuple[Sequence[str], str], real_shapes, train_shapes):
    """The class order of a training set ``(names, origin)`` against the
    report's class ``names`` (old index per report class, ``None``:
    unchanged); ``ValueError`` (one line) when its classes or its canvas
    differ from the real set's."""
    try:
        m = match_classes((tuple(names), "positional"), train)
    except ValueError as e:
        raise ValueError(f"training set: {e}".replace("synthetic", "training")) from None
    if tuple(m.names) != tuple(names):
        raise ValueError(f"training set classes {', '.join(train[0])} differ from the real set's {', '.join(names)}")
    r, t = set(real_shapes), set(train_shapes)
    if r and t and r != t:
        raise ValueError(
            f"training set canvas {', '.join(map(_shape_str, sorted(t)))} differs from the real set's "
            f"{', '.join(map(_shape_str, sorted(r)))}; give training layouts of the same size"
        )
    return m.synth_order
