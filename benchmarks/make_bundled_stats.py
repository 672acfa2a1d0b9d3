"""Regenerate the bundled reference statistics (topofd/data/cache/).

The real side of the `paper` protocol on the bundled BRCA-M2C test split
(1,550 patches): per class, the landscape of the gudhi-exact barycenter and
the covariance of the landscapes.  Cached by content digest, so `compare`
and `topofd demo` use them only for exactly these layouts and options.

    rm -r topofd/data/cache && python benchmarks/make_bundled_stats.py   # ~3-10 min on 2 cores
"""
import shutil
import tempfile
from pathlib import Path

import topofd
from topofd.api import Diagrams, stats_key
from topofd.demo import bundled_root, real_patches

DST = Path(topofd.__file__).parent / "data" / "cache"

with bundled_root() as root:
    real = real_patches(root)
with tempfile.TemporaryDirectory() as tmp:
    # synthetic side irrelevant: any two layouts; metrics=topofd fills the cache
    topofd.compare(real, real[:2], metrics=["topofd"], pairing="none", cache_dir=tmp, n_jobs=2)
    keys = Diagrams(real).keys
    for k in range(len(real[0].classes)):
        key = stats_key(keys, "paper", k, 100, 1)
        src = Path(tmp) / key[:2] / f"{key}.pkl"
        if not src.exists():
            print(f"class {k}: already bundled (cache hit), not rewritten")
            continue
        (DST / key[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, DST / key[:2] / f"{key}.pkl")
        print(f"class {k}: {key}")
