"""YAML configurations of the generator: bundled names or paths, with ``base:`` inheritance."""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["load_config", "BUNDLED", "SECTIONS"]

BUNDLED = Path(__file__).resolve().parent / "configs"
SECTIONS = ("model", "diffusion", "data", "train", "losses", "sample")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _locate(name_or_path, relative_to: Path | None = None) -> Path:
    p = Path(name_or_path)
    candidates = [p] if p.is_absolute() else [(relative_to or Path.cwd()) / p]
    if p.suffix == "" and len(p.parts) == 1:
        candidates.append(BUNDLED / f"{p}.yaml")
    for c in candidates:
        if c.is_file():
            return c
    names = ", ".join(sorted(q.stem for q in BUNDLED.glob("*.yaml")))
    raise ValueError(f"config {name_or_path!s}: no such file and not a bundled config ({names})")


def _load(path: Path, seen: tuple[Path, ...]) -> dict:
    if path in seen:
        raise ValueError(f"{path}: 'base:' cycle")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: invalid YAML ({e.__class__.__name__})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: a config must be a YAML mapping")
    base = cfg.pop("base", None)
    if base is None:
        return cfg
    # a base is looked up next to the config first, then among the bundled ones
    return _merge(_load(_locate(base, path.parent), seen + (path,)), cfg)


def load_config(name_or_path) -> dict:
    """Config dict from a YAML path or a bundled name (``brca_m2c``, ``tiny``).

    A top-level ``base: NAME_OR_PATH`` is deep-merged under the file's own keys.
    """
    path = _locate(name_or_path)
    cfg = _load(path, ())
    missing = [s for s in SECTIONS if not isinstance(cfg.get(s), dict)]
    if missing:
        raise ValueError(f"{path}: missing section(s) {', '.join(missing)}")
    return cfg
