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

from topofd.layouts.layout import Layout  # noqa: E402
from topofd.output.report import Report  # noqa: E402
from topofd.evaluator import Evaluator  # noqa: E402
from topofd.api import compare  # noqa: E402

__all__ = ["Layout", "compare", "Evaluator", "Report", "__version__"]
