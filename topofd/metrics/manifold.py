"""Fidelity and diversity of a synthetic set: k-nearest-neighbour manifolds
of the per-layout topological features.

Each layout is a point: its per-layout topological feature vector
(:func:`topofd.metrics.embedding.fidelity_features`: per class, quantiles of
the Rips H0 death times — the minimum-spanning-tree edge lengths of the
class's cells — made scale-free by the class's intensity, each class block
scaled by the real spread; the √landscape H1 vector of TopoKD when a set
has no cells); a set's manifold is the
union of balls around its points, each of radius the distance to the point's
k-th nearest neighbour in its own set (r_i for real x_i, s_j for synthetic
y_j).  With N real and M synthetic layouts:

* precision (Kynkäänniemi et al. 2019) = (1/M) Σ_j 1{∃ i: ‖y_j − x_i‖ ≤ r_i}
  — the share of synthetic layouts that look real (fidelity);
* recall (Kynkäänniemi et al. 2019) = (1/N) Σ_i 1{∃ j: ‖x_i − y_j‖ ≤ s_j}
  — the share of real layouts the generator reaches (diversity);
* density (Naeem et al. 2020) = 1/(kM) Σ_j Σ_i 1{‖y_j − x_i‖ ≤ r_i} — how
  many real balls a synthetic layout falls in, 1 on average when the sets
  match; unbounded, robust to real outliers (precision is not);
* coverage (Naeem et al. 2020) = (1/N) Σ_i 1{∃ j: ‖y_j − x_i‖ ≤ r_i} — the
  share of real balls that hold a synthetic layout; robust to synthetic
  outliers (recall is not: one far synthetic layout with a huge ball
  "recalls" many real ones).

Mode collapse: read **coverage**, not recall.  Repeated synthetic layouts
sit at distance 0 from each other, so a collapsed set's k-NN radii s_j are
set by its few distinct layouts and grow as the repeats thin the rest out:
a set repeating the third of the real BRCA-M2C windows with the fewest
epithelial cells had recall 0.86, above the 0.63 of real windows
themselves, while its coverage fell from 0.19 to 0.03 (coverage uses the
real radii only).

Tie rule: the balls are closed — a layout at exactly the radius is inside
(``≤``, as Kynkäänniemi et al. write f(φ, Φ); the ``prdc`` code of Naeem et
al. uses ``<``, and equals these scores wherever no distance ties a
radius).  Ties are real here: layouts whose classes have fewer than 2
cells share the zero row, and a radius of 0 then holds every copy.  Both
sets are first centred on the real mean and divided by their pooled spread
√tr Σ, and a distance within :data:`TIE_SLACK` (in those units) of a radius
counts as a tie, so the scores do not change when a constant is added to,
or a factor applied to, every feature (``tests/test_reliability3.py``).

k: ``fidelity_k``, default 5, the value Naeem et al. recommend (their
Sec. 4: with k = 5 density and coverage of two sets from one distribution
are close to 1 for a sample of a few thousand, and smaller k makes coverage
fall below 1 for identical distributions).  It assumes independent
layouts: on a real set of overlapping windows (BRCA-M2C: 256 px at stride
32) the k = 5 radius is the distance to a window's own shifted copies, and
coverage of real windows from other images is 0.47 at k = 5, 0.87 at
k = 20 (``benchmarks/README.md``).  With ``fidelity_radii="images"`` and
the source images known (``--group-by``, default ``auto``: the names
``topofd patches`` writes) each radius is taken among layouts of *other*
images (:mod:`topofd.metrics.by_image`; ``meta["fidelity"]["radii"]`` says
so).  Not the default: over 20 draws of 3, 10, 30 images per set it ranks
real windows of other images above matched random more often on coverage
and recall, but precision saturates (radii the distance to another image)
and density separates less at 30 images (``docs/concepts.md``, *Images,
not windows*).  ``--se-by-image`` adds a delete-an-image jackknife over the
real set to the interval.
Fewer than k + 1 layouts in a
set: the score needing that set's radii is not defined (NaN, with a note).

On whole layouts, not per class: the columns fill the ``mean`` row only
(like TCE).  Why H0 spacing and not the √landscape H1 vector TopoKD uses
(the first version): most BRCA-M2C windows have few or no H1 loops of a
sparse class (on 200 test windows 82 % none for lymphocytes), so in the
H1 space layouts with little loop structure sit in one dense region that
matched-count random and jittered layouts fall into — random layouts got a
*higher* precision (0.68) than real windows of other images (0.55).  The
spacing of the cells (regular, clustered, Poisson) is what random
re-placement and jitter change even where H1 is weak: in the H0 space
random and jitter σ = 8 fall well below (precision 0.58 / 0.67 against
0.90, density 0.31 / 0.37 against 0.60), mode dropping keeps its precision
and loses recall and coverage, and a held-out-like set scores ≈ 1
(``benchmarks/README.md``, *Fidelity, diversity, memorisation*).  Per class
was tried first and rejected: a class without cells or loops ties every
such layout at one point, and density counts every tie.

Intervals: delete-a-group jackknife over the synthetic set (real set
fixed), the groups of the comparison's resampling plan as for TopoKD; a
left-out group changes the synthetic set only (recall recomputes the
synthetic radii without it).  Precision, recall and coverage are shares:
their bounds are the Wilson interval at the jackknife's effective sample
size, inside [0, 1] (:mod:`topofd.stats.shares`); density keeps the t interval.  Cost O(N·M·G) per class for recall's
replicates, O(N·M) otherwise; distances are computed in blocks of real rows.
"""

from __future__ import annotations

import math

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricOption, MetricResult, put_whole_layout
from topofd.metrics.by_image import combine_real_jackknife, radii_note, radii_other_images, usable
from topofd.metrics.embedding import fidelity_features
from topofd.option_spec import Spec
from topofd.state import SetView
from topofd.stats.shares import SHARE_METHOD, share_estimate
from topofd.stats.uncertainty import MIN_LAYOUTS

__all__ = ["STATS", "SHARES", "TIE_SLACK", "knn_radii", "manifold_scores", "ManifoldMetric"]

STATS = ("precision", "recall", "density", "coverage")
SHARES = ("precision", "recall", "coverage")
# ≤ with this slack, in units of the features' pooled spread: a distance that equals a radius but for rounding
TIE_SLACK = 1e-9
# below this many real source images the k-NN manifolds did not rank real tissue of other images above
# matched-count random reliably (BRCA-M2C, benchmarks/images.py --k, k = 5: 8-15 of 20 draws at 3 images, 14-20 at 10,
# 16-20 at 30): the report says so
FEW_IMAGES = 30
_BLOCK = 1024
_TITLES = {"precision": "Precision", "recall": "Recall", "density": "Density", "coverage": "Coverage"}
_SUMMARIES = {
    "precision": "share of synthetic layouts inside the real k-NN manifold (Kynkäänniemi et al. 2019)",
    "recall": "share of real layouts inside the synthetic k-NN manifold (Kynkäänniemi et al. 2019)",
    "density": "how many real k-NN balls hold each synthetic layout, / k (Naeem et al. 2020)",
    "coverage": "share of real layouts whose k-NN ball holds a synthetic layout (Naeem et al. 2020)",
}
_HOW = {
    "precision": "fidelity, higher looks more real",
    "recall": "diversity, higher covers more of the real variety",
    "density": "fidelity, about 1 for a set drawn like the real one",
    "coverage": "diversity, higher covers more of the real variety",
}
FIDELITY_RADII = MetricOption(
    "fidelity_radii",
    "windows",
    Spec(
        "k-NN radii of precision, recall, density, coverage: among all layouts of the set (windows) or, when "
        "the source images are known, among layouts of other images (images; benchmarks/README.md, *Images*).",
        "choice",
        "--fidelity-radii",
        choices=("windows", "images"),
    ),
)
# options shared by the four plug-ins (the same objects: registered once)
FIDELITY_K = MetricOption(
    "fidelity_k",
    5,
    Spec(
        "k of the k-nearest-neighbour manifolds of precision, recall, density and coverage (5, as Naeem et al. "
        "2020 recommend).",
        "int",
        "--fidelity-k",
        low=1,
        metavar="K",
    ),
)


def knn_radii(F: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of ``F`` to its k-th nearest other row."""
    # imported on use: scikit-learn costs ~0.4 s at start-up and only the fidelity plug-ins need it
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1).fit(F)
    d, _ = nn.kneighbors(F)
    return d[:, k]


def _standardised(Fr: np.ndarray, Fs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets centred on the real mean and divided by the pooled spread
    √tr Σ (1 when they do not vary): the tie rule then sees the same
    distances whatever constant is added to, or factor applied to, every feature."""
    mu = Fr.mean(0) if len(Fr) else 0.0
    both = np.vstack([Fr, Fs])
    s = float(np.sqrt(np.sum(np.var(both, axis=0)))) if len(both) > 1 else 0.0
    s = s if s > 0 and np.isfinite(s) else 1.0
    return (Fr - mu) / s, (Fs - mu) / s


def _dist_block(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    # differences, not |a|² + |b|² − 2ab: no cancellation, so a tie stays a tie to rounding
    from scipy.spatial.distance import cdist

    return cdist(A, B)


def _leave_out_radii(Fs: np.ndarray, k: int, labels: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
    """``(G, M)``: each synthetic layout's k-NN radius among the synthetic
    layouts outside group g (−inf for the layouts of group g: left out, their balls hold nothing);
    with ``images``, among those of other images only."""
    M, G = len(Fs), int(labels.max()) + 1
    own = int(np.bincount(images).max()) if images is not None else 1
    n = min(M, k + own + int(np.bincount(labels).max()))
    from sklearn.neighbors import NearestNeighbors  # on use, as in knn_radii

    d, idx = NearestNeighbors(n_neighbors=n).fit(Fs).kneighbors(Fs)
    out = np.full((G, M), np.inf)
    other = idx != np.arange(M)[:, None] if images is None else images[idx] != images[:, None]
    for g in range(G):
        ok = other & (labels[idx] != g)
        pos = np.argmax(np.cumsum(ok, axis=1) == k, axis=1)
        r = d[np.arange(M), pos]
        r[ok.sum(1) < k] = np.inf
        r[labels == g] = -np.inf
        out[g] = r
    return out


def _radii(F: np.ndarray, k: int, images: np.ndarray | None) -> np.ndarray:
    return knn_radii(F, k) if images is None else radii_other_images(F, k, images)


def manifold_scores(
    Fr: np.ndarray,
    Fs: np.ndarray,
    k: int = 5,
    labels: np.ndarray | None = None,
    which=STATS,
    images: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> dict[str, tuple[float, list[float]]]:
    """``{stat: (value, replicates)}`` for ``which`` of :data:`STATS`
    between real rows ``Fr`` and synthetic rows ``Fs``; ``labels``: the
    jackknife group of each synthetic row (replicates: the stat with each
    group left out; ``[]`` without labels).  A stat whose radii need more
    layouts than a set has is NaN.  ``images``: the source image of each
    real and each synthetic row (``None``: unknown): a radius is then taken
    among rows of other images (:mod:`topofd.metrics.by_image`)."""
    N, M = len(Fr), len(Fs)
    Fr, Fs = _standardised(np.asarray(Fr, float), np.asarray(Fs, float))
    tol = TIE_SLACK
    G = int(labels.max()) + 1 if labels is not None else 0
    keep = [labels != g for g in range(G)]
    r = _radii(Fr, k, images[0]) if N > k else None
    s = _radii(Fs, k, images[1]) if M > k and "recall" in which else None
    s_g = (
        _leave_out_radii(Fs, k, labels, images[1])
        if s is not None and labels is not None and G and M - np.bincount(labels).max() > k
        else None
    )
    in_real = np.zeros(M)  # real balls holding each synthetic layout
    covered = np.zeros((N, G + 1), bool)  # real ball i holds a synthetic layout (all; outside group g)
    recalled = np.zeros((N, G + 1), bool)
    for a in range(0, N, _BLOCK):
        D = _dist_block(Fr[a : a + _BLOCK], Fs)
        if r is not None:
            B = D <= r[a : a + _BLOCK, None] + tol
            in_real += B.sum(0)
            covered[a : a + _BLOCK, 0] = B.any(1)
            for g in range(G):
                covered[a : a + _BLOCK, g + 1] = B[:, keep[g]].any(1)
        if s is not None:
            recalled[a : a + _BLOCK, 0] = (D <= s[None, :] + tol).any(1)
            if s_g is not None:
                for g in range(G):
                    recalled[a : a + _BLOCK, g + 1] = (D <= s_g[g][None, :] + tol).any(1)
    per_synth = {"precision": (in_real > 0).astype(float), "density": in_real / k}
    out: dict[str, tuple[float, list[float]]] = {}
    for stat in which:
        if stat in per_synth:
            if r is None:
                out[stat] = (np.nan, [])
                continue
            x = per_synth[stat]
            out[stat] = (float(x.mean()), [float(x[m].mean()) for m in keep])
        elif stat == "coverage":
            out[stat] = (
                (float(covered[:, 0].mean()), [float(covered[:, g + 1].mean()) for g in range(G)])
                if r is not None
                else (np.nan, [])
            )
        else:
            reps = [float(recalled[:, g + 1].mean()) for g in range(G)] if s_g is not None else []
            out[stat] = (float(recalled[:, 0].mean()), reps) if s is not None else (np.nan, [])
    return out


class ManifoldMetric(Metric):
    """The plug-in of one of :data:`STATS` (one column, ``mean`` row)."""

    groups = ("fidelity",)
    needs = frozenset({"points"})
    options = (FIDELITY_K, FIDELITY_RADII)
    meta_keys = ("fidelity",)

    def __init__(self, stat: str):
        if stat not in STATS:
            raise ValueError(f"unknown manifold statistic {stat!r}")
        self.name = stat
        self.summary = _SUMMARIES[stat]
        # density is a ratio (1 on average for a set drawn like the real one), not a share
        top = math.inf if stat == "density" else 1.0
        self.columns = (Column(stat, _TITLES[stat], "higher", scope="layout", range=(0.0, top), help=_HOW[stat]),)

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        o, stat = ctx.options, self.name
        k, nS = ctx.option("fidelity_k"), len(synth)
        lab = ctx.plan.groups(o.se_groups) if ctx.want_se and nS >= MIN_LAYOUTS else None
        (Fr, Fs), space, note = fidelity_features(real, synth)
        notes: list[str] = []
        ims = image_radii(real, synth, ctx.option("fidelity_radii"), notes)
        value, reps = manifold_scores(Fr, Fs, k, lab, (stat,), ims)[stat]
        out = MetricResult(meta={"fidelity": {"k": k, "features": space, "radii": radii_note(*ims) or "k-NN"}})
        out.notes.extend([note] if note else [])
        out.notes.extend(notes)
        few = few_images_note(real)
        out.notes.extend([few] if few else [])
        need = nS if stat == "recall" else len(real)
        if need <= k:
            which = "synthetic" if stat == "recall" else "real"
            out.notes.append(f"{_TITLES[stat]} not defined: {need} {which} layouts, fewer than k + 1 = {k + 1}")
        if not Fr.any() and not Fs.any():
            out.notes.append(f"{_TITLES[stat]}: all features 0 in both sets (nothing to compare): not measured")
            value, reps = float("nan"), []
        put_whole_layout(out, ctx, stat, value, reps, lab, nS, "not defined without a group")
        real_im = usable(real.image_labels())
        if o.se_by_image and real_im is not None and ctx.want_se:
            real_image_interval(out, stat, value, (Fr, Fs, k), real_im, ims)
        if stat in SHARES and out.cells[stat]["mean"].se is not None:
            # a share: an interval inside [0, 1] (topofd.stats.shares)
            out.cells[stat]["mean"] = share_estimate(out.cells[stat]["mean"], nS if stat == "precision" else len(real))
            out.uncertainty[stat] += "; " + SHARE_METHOD
        return out


def few_images_note(real: SetView) -> str | None:
    """A warning when the real set's layouts come from fewer than
    :data:`FEW_IMAGES` known source images (one line, the same from each
    fidelity plug-in, so the report prints it once)."""
    labels = real.image_labels()
    if labels is None or int(labels.max()) + 1 >= FEW_IMAGES:
        return None
    return (
        f"fidelity scores (precision, recall, density, coverage) on {int(labels.max()) + 1} real source images: with "
        f"fewer than {FEW_IMAGES}, k-NN manifolds did not rank real tissue of other images above matched-count "
        "random reliably (BRCA-M2C: 8-15 of 20 draws at 3 images); compare more images or read TopoKD"
    )


def image_radii(real: SetView, synth: SetView, how: str, notes: list) -> tuple:
    """The image labels the radii skip (``fidelity_radii="images"``), or none."""
    if how != "images":
        return (None, None)
    ims = (usable(real.image_labels()), usable(synth.image_labels()))
    if ims[0] is None:
        notes.append("fidelity_radii=images: the real set's images are not known (--group-by): radii over all layouts")
    return ims


def real_image_interval(out: MetricResult, stat: str, value: float, data, real_im, ims) -> None:
    """Widen ``stat``'s interval by a delete-an-image jackknife over the real
    set (``se_by_image``; ``data`` = real rows, synthetic rows, k; ``ims``:
    the labels the radii skip): would the score hold against other real images?"""
    Fr, Fs, k = data
    reps = []
    for h in range(int(real_im.max()) + 1):
        keep = real_im != h
        sub = np.unique(real_im[keep], return_inverse=True)[1] if ims[0] is not None else None
        reps.append(manifold_scores(Fr[keep], Fs, k, None, (stat,), (usable(sub), ims[1]))[stat][0])
    if not all(np.isfinite(reps)):
        return
    cell = out.cells[stat]
    cell["mean"] = combine_real_jackknife(cell["mean"], value, reps)
    if stat in out.uncertainty:
        out.uncertainty[stat] += f"; and a delete-an-image jackknife over the {len(reps)} real images (variances added)"
