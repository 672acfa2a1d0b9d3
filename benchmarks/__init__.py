"""The benchmark scripts of ``topofd``, run from the repository root as
``python -m benchmarks.NAME [OPTIONS]`` (``--help`` lists each one's options).

Shared constants and helpers live in :mod:`benchmarks.common`; the shared
data recipes in :mod:`benchmarks.families`, :mod:`benchmarks.candidates`,
:mod:`benchmarks.fidelity_views` and :mod:`benchmarks.identity`.  Scripts
import only these, never one another.  ``benchmarks/reference/`` is not part
of the package: it runs in its own environment (its README).
"""
