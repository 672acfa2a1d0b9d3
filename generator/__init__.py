"""TopoCellGen reference generator (needs the ``topofd[generator]`` extra: torch).

``build(cfg) -> (model, diffusion)`` makes the count-conditioned ADM U-Net and
its Gaussian diffusion from a config dict (see :func:`.config.load_config`).
"""

__all__ = ["build"]


def build(cfg: dict):
    """``(UNet, GaussianDiffusion)`` for a config dict; torch is imported here,
    not at package import."""
    from .diffusion import GaussianDiffusion
    from .unet import UNet

    model = UNet(**cfg["model"])
    return model, GaussianDiffusion.from_config(cfg["diffusion"], cfg["model"]["learn_sigma"])
