"""topofd: topological evaluation of generated multi-class cell layouts.

``topofd.compare(real, synth)`` scores a synthetic set of cell layouts against
a real one with TopoFD, MMD and cell count errors, each with its standard
error and 95 % interval; ``topofd.Evaluator`` is the same computation fed
batch by batch (inside a training or sampling loop); the modules
``persistence``, ``wasserstein``, ``barycenter``, ``landscapes``,
``frechet``, ``topo_fd``, ``mmd`` and ``counts`` hold the computations,
each taking and returning arrays.
"""
__version__ = "0.1.0"

from .layout import Layout  # noqa: E402
from .report import Report  # noqa: E402
from .evaluator import Evaluator  # noqa: E402
from .api import compare  # noqa: E402

__all__ = ["Layout", "compare", "Evaluator", "Report", "__version__"]
