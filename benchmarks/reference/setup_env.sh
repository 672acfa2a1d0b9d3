#!/usr/bin/env bash
# Reference environment for the published TopoFD computation
# (benchmarks/reference/published_topofd.py, tests/golden/make_golden.py).
#
# giotto-tda 0.6.2 pins scikit-learn==1.3.2, which needs numpy < 2, so this
# lives in its own virtual environment, apart from the topofd install.
# Tested with CPython 3.11.
#
#   bash benchmarks/reference/setup_env.sh [VENV_DIR]   # default .venv-reference
#   VENV_DIR/bin/python benchmarks/reference/published_topofd.py REAL SYNTH
set -euo pipefail

venv="${1:-.venv-reference}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
# The versions the golden values in tests/golden/ were produced with.
"$venv/bin/python" -m pip install \
    "giotto-tda==0.6.2" \
    "gudhi==3.13.0" \
    "pot==0.9.7.post1" \
    "scipy==1.17.1" \
    "numpy==1.26.4" \
    "scikit-learn==1.3.2"
"$venv/bin/python" - <<'EOF'
import gtda, gudhi, numpy, ot, scipy, sklearn
print("reference env:", "giotto-tda", gtda.__version__, "gudhi", gudhi.__version__,
      "POT", ot.__version__, "scipy", scipy.__version__, "numpy", numpy.__version__,
      "scikit-learn", sklearn.__version__)
EOF
