"""The largest departure between a synthetic and a real pooled K/L curve, in words."""

from __future__ import annotations

import numpy as np

__all__ = ["largest_departure", "pair_sentence"]


def largest_departure(radii: np.ndarray, L_real: np.ndarray, L_synth: np.ndarray) -> tuple[int, int, int] | None:
    """``(j*, first, last)``: the radius index of the largest |ΔL| and the
    run of grid radii around it where |ΔL| stays at least half as large
    (``None`` when no radius has both curves)."""
    dL = np.asarray(L_synth, float) - np.asarray(L_real, float)
    if not np.isfinite(dL).any():
        return None
    a = np.where(np.isfinite(dL), np.abs(dL), -1.0)
    j = int(np.argmax(a))
    half = a[j] / 2.0
    first, last = j, j
    while first > 0 and a[first - 1] >= half:
        first -= 1
    while last < len(a) - 1 and a[last + 1] >= half:
        last += 1
    return j, first, last


def pair_sentence(
    a: str, b: str, radii, K_real, K_synth, L_real, L_synth, dL_se: float | None, p: float, alpha: float = 0.05
) -> str | None:
    """One sentence on pair (a, b): how much more or less often b-cells lie
    at the distances of the largest departure from a-cells than in real
    tissue — the ratio of the pooled K increments over that annulus — with
    ΔL at its peak (± its standard error) and the envelope test's verdict
    at level ``alpha`` (the caller's multiplicity-corrected level)."""
    found = largest_departure(radii, L_real, L_synth)
    if found is None:
        return None
    j, first, last = found
    r = np.asarray(radii, float)
    r1 = 0.0 if first == 0 else float(r[first - 1])
    r2 = float(r[last])
    k1r, k1s = (0.0, 0.0) if first == 0 else (float(K_real[first - 1]), float(K_synth[first - 1]))
    inc_r, inc_s = float(K_real[last]) - k1r, float(K_synth[last]) - k1s
    dL = float(L_synth[j] - L_real[j])
    se = f" ± {dL_se:.1f}" if dL_se is not None and np.isfinite(dL_se) else ""
    where = f"within {r2:.0f} px" if r1 == 0 else f"at {r1:.0f}–{r2:.0f} px"
    other = f"other {a} cells" if a == b else f"{a} cells"
    if inc_r > 0:
        pct = 100.0 * (inc_s / inc_r - 1.0)
        more = "less" if pct < 0 else "more"
        body = f"synthetic {b} cells are {abs(pct):.0f} % {more} frequent {where} of {other} than in real tissue"
    elif inc_s > 0:
        body = f"synthetic {b} cells lie {where} of {other}, where real tissue has none"
    else:
        body = f"no {b} cell lies {where} of {other} in either set"
    if not np.isfinite(p):
        verdict = "no envelope test"
    elif p <= alpha:
        verdict = f"outside the real set's variability (envelope test p = {p:.3f} ≤ {alpha:.3g})"
    else:
        verdict = f"within the real set's variability (envelope test p = {p:.3f} > {alpha:.3g})"
    if abs(dL) < 0.05:  # below the sentence's precision: say so rather than "0 % more frequent"
        return f"{a}–{b}: the synthetic curve is the real one to within 0.05 px at every radius; {verdict}."
    return f"{a}–{b}: {body} (L {dL:+.1f} px{se} at r = {float(r[j]):.0f} px); {verdict}."
