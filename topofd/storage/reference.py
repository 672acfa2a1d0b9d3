"""Precomputed reference sets: a real set's diagrams, counts and statistics
in one file (``.topofd``), made once and shared — what torch-fidelity and
clean-fid call cached reference statistics.

A reference file is an ``.npz`` archive of plain arrays (names, layout keys,
per-class counts, the H1 diagrams, and the ``paper`` statistics of each
class) with a JSON header: format version, topofd version, the diagram
options (complex, cache version), classes, canvas, and a SHA-256 of every
array.  Loading it never unpickles; a file whose hash does not match, that
was made by a newer format, or with other diagram options is refused with
one line naming the file and the problem.  Scores computed from a reference
equal those recomputed from the layouts (``tests/test_reference.py``).

Encoder features (issue 17): FID and KID need the real layouts encoded, and
a reference file keeps no cells, so ``make_reference`` also stores the real
set's features, by default whenever the extractor can run (the ``[fid]``
extra is installed): a user who makes a reference expects every metric of
``compare`` to work from it.  They are keyed by the extractor file's SHA-256
(the shipped encoder, or a user's TorchScript/ONNX file, with its name), in
the file's class order (a comparison that reorders the real classes gets a
note instead: recomputing would encode other channels).  At compare time features of the same
file are used; features of another file are refused (one line), never mixed
with features the run computes; a file without them (made by an older
topofd, without torch, or with ``--no-features``) gives FID/KID a note on how
to make it again.  Files without features still load (same format version).

Named sets ship with the package (:func:`names`): ``brca-m2c:test`` is the
BRCA-M2C test protocol (1,550 windows of the 30 test images, Abousamra et al.
2021, BSD-3-Clause; see ``topofd/data/brca_m2c/LICENSE``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from topofd.storage.arrays import load_npz, pack_diagrams, save_npz, unpack_diagrams
from topofd.storage.keys import CACHE_VERSION, stats_key

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "NAMED",
    "names",
    "Reference",
    "make_reference",
    "load_reference",
    "is_reference",
]

FORMAT = "topofd-reference"
FORMAT_VERSION = 1
SUFFIX = ".topofd"
# name -> (file in topofd/data/refs, one-line description)
NAMED = {
    "brca-m2c:test": (
        "brca-m2c-test.topofd",
        "BRCA-M2C test protocol: 1,550 windows 256x256, stride 32, of the 30 test images (lym, epi, stro)",
    )
}


def names() -> dict[str, str]:
    """Named reference sets shipped with topofd: ``{name: description}``."""
    return {k: v[1] for k, v in NAMED.items()}


def is_reference(x) -> bool:
    """Whether ``x`` names a reference set (a known name or a ``.topofd`` file)."""
    return isinstance(x, (str, Path)) and (str(x) in NAMED or str(x).lower().endswith(SUFFIX))


def _stats_prefix(k: int, n_bins: int, n_layers: int) -> str:
    return f"paper_k{k}_b{n_bins}_l{n_layers}"


def _content_hash(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode() + b"\0" + a.dtype.str.encode() + b"\0" + repr(a.shape).encode() + b"\0")
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class Reference:
    """A loaded reference set (see module docstring)."""

    path: str
    meta: dict
    names: list
    keys: list
    counts: np.ndarray
    diagrams: list
    classes: tuple
    shape: tuple | None
    stats: dict  # (protocol, k, n_bins, n_layers) -> LandscapeStats
    features: dict = field(default_factory=dict)  # extractor sha256 -> (n, D) features, rows in ``keys`` order

    def features_for(self, name: str, sha256: str | None):
        """The stored real-set features of the extractor ``name`` with file
        hash ``sha256`` (``None``: a callable), or a note (str) saying why
        there are none; ``ValueError`` when another extractor's are stored."""
        if not self.features:
            return (
                f"{self.path} stores no encoder features (made by an older topofd, without the [fid] extra, or "
                f"with --no-features); make it again: topofd stats REAL/ --out {self.path} (with topofd[fid])"
            )
        if sha256 is None:
            return f"a Python callable has no file hash to match the features stored in {self.path}; pass a file"
        if sha256 in self.features:
            return self.features[sha256]
        made = ", ".join(f"{r['extractor']} (sha256 {r['sha256'][:12]})" for r in self.meta["encoder_features"])
        raise ValueError(
            f"{self.path}: real-set features were made with {made}, this run's extractor is {name} "
            f"(sha256 {sha256[:12]}); pass that --extractor or make the reference again with --extractor {name}"
        )

    def check_compatible(self, options) -> None:
        """``ValueError`` unless the file was made with ``options``' recorded
        values (:data:`topofd.options.RECORDED`, e.g. the complex) and this format."""
        m = self.meta
        for name, value in options.recorded().items():
            if m.get(name) != value:
                flag = name.replace("_", "-")
                raise ValueError(
                    f"{self.path}: made with {name} {m.get(name)!r}, this run uses {value!r}; pass "
                    f"--{flag} {m.get(name)} (API: {name}={m.get(name)!r}) or make the reference "
                    "again with the same options"
                )
        if m.get("cache_version") != CACHE_VERSION:
            raise ValueError(
                f"{self.path}: diagrams of format {m.get('cache_version')}, this topofd reads "
                f"{CACHE_VERSION}; make the reference again"
            )


def make_reference(
    evaluator,
    path,
    *,
    name: str = "",
    description: str = "",
    source: str = "",
    paper_stats: bool = True,
    features: bool | None = None,
) -> dict:
    """Write the real set of ``evaluator`` (an :class:`topofd.Evaluator` fed
    with ``real=True`` batches) as a reference file; with ``paper_stats`` the
    ``paper`` statistics of every class are computed and stored too; with
    ``features`` (``None``: when possible) the layouts' encoder features (FID,
    KID).  Returns the file's metadata (``features_note`` says what was stored)."""
    from topofd.version import __version__

    view, state = evaluator.real_view(), evaluator.state(True)
    names_, keys, counts, dgms, classes = view.names, view.keys, view.counts, view.diagrams, state.classes
    shape = next(iter(state.shapes)) if len(state.shapes) == 1 else None
    if not keys:
        raise ValueError("no real layouts to store")
    pts, sizes = pack_diagrams(dgms)
    arrays = {
        "names": np.array(names_, dtype=str),
        "keys": np.array(keys, dtype=str),
        "counts": np.asarray(counts, np.int64),
        "points": pts,
        "sizes": sizes,
    }
    stored = []
    if paper_stats:
        for k in range(len(classes)):
            s = evaluator.real_paper_stats(k, view)
            p = _stats_prefix(k, evaluator.options.n_bins, evaluator.options.n_layers)
            arrays.update(
                {f"{p}_mu": s.mu, f"{p}_sigma": s.sigma, f"{p}_barycenter": s.barycenter, f"{p}_mu_x": s.mu_x}
            )
            stored.append(p)
    # the Evaluator runs the encoder (a layer above this one); storage only keeps what it is handed
    feats, records, note = evaluator.reference_features(view, features)
    arrays.update(feats)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "topofd_version": __version__,
        "cache_version": CACHE_VERSION,
        **evaluator.options.recorded(),
        "classes": list(classes),
        "class_origin": state.origin,
        "shape": list(shape) if shape else None,
        "n": len(keys),
        "name": name,
        "description": description,
        "source": source,
        "paper_stats": stored,
        "encoder_features": records,
        "features_note": note,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "content_sha256": _content_hash(arrays),
    }
    save_npz(path, arrays, meta)
    return meta


def _resolve(ref) -> Path:
    s = str(ref)
    if s in NAMED:
        return Path(str(resources.files("topofd") / "data" / "refs" / NAMED[s][0]))
    if ":" in s and not Path(s).exists() and s.split(":")[0] in {n.split(":")[0] for n in NAMED}:
        raise ValueError(f"unknown reference set {s!r}; named sets: {', '.join(NAMED)}")
    return Path(s)


def load_reference(ref) -> Reference:
    """Load a reference file or named set; ``ValueError`` (one line, naming
    the file) when it is missing, not a reference, tampered or too new."""
    path = _resolve(ref)
    if not path.is_file():
        raise ValueError(f"{path}: no such reference file")
    st = path.stat()
    return _load(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> Reference:  # stat in the key: an edited file is read again
    from topofd.tda.summaries import LandscapeStats

    arrays, meta = load_npz(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a topofd reference file")
    v = meta.get("format_version")
    if not isinstance(v, int) or v > FORMAT_VERSION:
        raise ValueError(
            f"{path}: reference format {v} is newer than this topofd reads ({FORMAT_VERSION}); upgrade topofd"
        )
    if _content_hash(arrays) != meta.get("content_sha256"):
        raise ValueError(f"{path}: contents do not match the recorded hash (corrupt or edited file)")
    try:
        diagrams = unpack_diagrams(arrays["points"], arrays["sizes"])
        names_ = [str(x) for x in arrays["names"]]
        keys = [str(x) for x in arrays["keys"]]
        counts = np.asarray(arrays["counts"], np.int64)
        classes = tuple(str(c) for c in meta["classes"])
        stats = {}
        for p in meta.get("paper_stats", []):
            _, k, b, l = p.split("_")
            stats[("paper", int(k[1:]), int(b[1:]), int(l[1:]))] = LandscapeStats(
                arrays[f"{p}_mu"], arrays[f"{p}_sigma"], len(keys), arrays[f"{p}_barycenter"], arrays[f"{p}_mu_x"]
            )
        features = {r["sha256"]: np.asarray(arrays[r["array"]], np.float64) for r in meta.get("encoder_features", [])}
    except (KeyError, ValueError, IndexError, TypeError):
        raise ValueError(f"{path}: incomplete reference file") from None
    if not (len(names_) == len(keys) == len(counts) == len(diagrams)) or counts.shape[1:] != (len(classes),):
        raise ValueError(f"{path}: inconsistent reference file (array lengths differ)")
    if any(F.ndim != 2 or len(F) != len(keys) for F in features.values()):
        raise ValueError(f"{path}: inconsistent reference file (a feature array is not one row per layout)")
    shape = tuple(meta["shape"]) if meta.get("shape") else None
    return Reference(path, meta, names_, keys, counts, diagrams, classes, shape, stats, features)


# ----------------------------------------------- bundled sets as cache entries
@lru_cache(maxsize=1)
def _bundled_index():
    out = []
    for name in NAMED:
        try:
            ref = load_reference(name)
        except ValueError:
            continue
        out.append(ref)
    by_key = {}
    for r in out:
        for i, k in enumerate(r.keys):
            by_key.setdefault(k, (r, i))
    by_stats = {}

    for r in out:
        for (proto, k, b, l), s in r.stats.items():
            by_stats[stats_key(r.keys, proto, k, b, l)] = s
    return by_key, by_stats


def bundled_match(keys) -> str | None:
    """The named set whose layouts are exactly ``keys`` (any order), or ``None``."""
    want = sorted(keys)
    for name in NAMED:
        try:
            ref = load_reference(name)
        except ValueError:
            continue
        if len(ref.keys) == len(want) and sorted(ref.keys) == want:
            return name
    return None


def bundled_diagrams(key: str):
    hit = _bundled_index()[0].get(key)
    return None if hit is None else [d.copy() for d in hit[0].diagrams[hit[1]]]


def bundled_stats(key: str):
    return _bundled_index()[1].get(key)
