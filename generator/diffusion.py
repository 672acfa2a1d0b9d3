"""Gaussian diffusion, kept apart from the network (DDPM, Ho et al. 2020; improved
DDPM, Nichol & Dhariwal 2021; DDIM, Song et al. 2021; P2 weighting, Choi et al. 2022).

The model predicts eps and, with learned variance, ``v`` in [-1, 1] that
interpolates the log variance between beta_t and the posterior variance
(improved DDPM Eq. 15). Training minimises L_hybrid = L_simple + lambda L_vlb
(improved DDPM Eq. 16, lambda = 0.001) with the mean frozen in L_vlb.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["GaussianDiffusion", "cosine_betas", "linear_betas", "space_timesteps"]


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Improved DDPM Eq. 17: alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) pi/2)."""
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * math.pi / 2) ** 2
    return np.minimum(1 - f[1:] / f[:-1], max_beta)


def linear_betas(T: int) -> np.ndarray:
    """DDPM's schedule, rescaled so that any T spans the same noise range."""
    scale = 1000 / T
    return np.linspace(scale * 1e-4, scale * 0.02, T, dtype=np.float64)


def space_timesteps(T: int, spec: str) -> list[int]:
    """Timesteps kept by a respacing spec: ``""`` (all), ``"ddimN"`` (stride
    T/N from 0, as DDIM; evenly spaced when no integer stride gives N) or
    ``"n1,n2,..."`` (T split into equal sections, n_i evenly spaced steps in each)."""
    if not spec:
        return list(range(T))
    if spec.startswith("ddim"):
        n = int(spec[4:])
        for stride in range(1, T + 1):
            if len(range(0, T, stride)) == n:
                return list(range(0, T, stride))
        spec = str(n)
    try:
        counts = [int(x) for x in spec.split(",")]
    except ValueError:
        raise ValueError(f"timestep respacing {spec!r}: expected 'ddimN' or comma-separated integers") from None
    size, extra = divmod(T, len(counts))
    kept, start = [], 0
    for i, n in enumerate(counts):
        length = size + (i < extra)
        if not 1 <= n <= length:
            raise ValueError(f"timestep respacing {spec!r}: cannot take {n} steps from a section of {length}")
        stride = (length - 1) / (n - 1) if n > 1 else 0
        kept += [start + round(j * stride) for j in range(n)]
        start += length
    return kept


def _mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


def normal_kl(m1, lv1, m2, lv2):
    """KL(N(m1, e^lv1) || N(m2, e^lv2)) elementwise, in nats."""
    return 0.5 * (-1.0 + lv2 - lv1 + torch.exp(lv1 - lv2) + (m1 - m2) ** 2 * torch.exp(-lv2))


def discretized_gaussian_nll(x, mean, log_var):
    """-log p(x) of data on 256 bins in [-1, 1] under N(mean, e^log_var), the
    edge bins open-ended (DDPM's decoder L_0)."""
    inv_std = torch.exp(-0.5 * log_var)
    c = x - mean
    upper, lower = inv_std * (c + 1 / 255), inv_std * (c - 1 / 255)
    log_cdf_upper = torch.special.log_ndtr(upper)
    log_sf_lower = torch.special.log_ndtr(-lower)
    log_delta = torch.log((torch.special.ndtr(upper) - torch.special.ndtr(lower)).clamp_min(1e-12))
    return -torch.where(x < -0.999, log_cdf_upper, torch.where(x > 0.999, log_sf_lower, log_delta))


class GaussianDiffusion:
    """A (possibly respaced) diffusion process; ``timestep_map[t]`` is the
    original timestep the network sees for index ``t`` of this process."""

    def __init__(
        self, betas, *, learn_sigma=True, rescale_learned_sigmas=True, p2_gamma=0.0, p2_k=1.0, timestep_map=None
    ):
        b = np.asarray(betas, dtype=np.float64)
        self.betas, self.num_timesteps = b, len(b)
        self.learn_sigma, self.rescale = learn_sigma, rescale_learned_sigmas
        self.p2_gamma, self.p2_k = p2_gamma, p2_k
        self.timestep_map = np.arange(len(b)) if timestep_map is None else np.asarray(timestep_map)
        ac = np.cumprod(1 - b)
        ac_prev = np.append(1.0, ac[:-1])
        self.alphas_cumprod, self.alphas_cumprod_prev = ac, ac_prev
        post_var = b * (1 - ac_prev) / (1 - ac)
        self.post_log_var = np.log(np.append(post_var[1], post_var[1:]))  # the t=0 variance is 0
        self.post_coef_x0 = b * np.sqrt(ac_prev) / (1 - ac)
        self.post_coef_xt = (1 - ac_prev) * np.sqrt(1 - b) / (1 - ac)
        # fixed variance when not learned: ADM's "fixed large" beta_t
        self.large_log_var = np.log(np.append(post_var[1], b[1:]))
        self.p2_weight = 1.0 / (p2_k + ac / (1 - ac)) ** p2_gamma

    @classmethod
    def from_config(cls, cfg_diffusion: dict, learn_sigma: bool) -> GaussianDiffusion:
        d = cfg_diffusion
        schedules = {"cosine": cosine_betas, "linear": linear_betas}
        if d["noise_schedule"] not in schedules:
            raise ValueError(f"diffusion.noise_schedule must be one of {', '.join(schedules)}")
        if d.get("predict", "eps") != "eps":
            raise ValueError("diffusion.predict: only 'eps' is implemented")
        full = cls(
            schedules[d["noise_schedule"]](d["steps"]),
            learn_sigma=learn_sigma,
            rescale_learned_sigmas=d["rescale_learned_sigmas"],
            p2_gamma=d["p2_gamma"],
            p2_k=d["p2_k"],
        )
        return full.respaced(d.get("timestep_respacing") or "")

    def respaced(self, spec: str) -> GaussianDiffusion:
        """The process on a subset of timesteps with betas recomputed so that
        alpha_bar is unchanged there (improved DDPM Sec. 4)."""
        keep = space_timesteps(self.num_timesteps, spec)
        ac = self.alphas_cumprod[keep]
        betas = 1 - ac / np.append(1.0, ac[:-1])
        return GaussianDiffusion(
            betas,
            learn_sigma=self.learn_sigma,
            rescale_learned_sigmas=self.rescale,
            p2_gamma=self.p2_gamma,
            p2_k=self.p2_k,
            timestep_map=self.timestep_map[keep],
        )

    @staticmethod
    def _at(arr: np.ndarray, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(arr, device=t.device)[t].float().view(-1, *([1] * (x.ndim - 1)))

    # ----------------------------------------------------------- forward process
    def q_sample(self, x0, t, noise):
        """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps."""
        ac = self._at(self.alphas_cumprod, t, x0)
        return ac.sqrt() * x0 + (1 - ac).sqrt() * noise

    def pred_xstart_from_eps(self, x_t, t, eps):
        """TopoCellGen Eq. 2: x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
        ac = self._at(self.alphas_cumprod, t, x_t)
        return (x_t - (1 - ac).sqrt() * eps) / ac.sqrt()

    def _eps_from_xstart(self, x_t, t, x0):
        ac = self._at(self.alphas_cumprod, t, x_t)
        return (x_t - ac.sqrt() * x0) / (1 - ac).sqrt()

    def q_posterior(self, x0, x_t, t):
        """Mean and log variance of q(x_{t-1} | x_t, x0) (DDPM Eq. 7)."""
        mean = self._at(self.post_coef_x0, t, x_t) * x0 + self._at(self.post_coef_xt, t, x_t) * x_t
        return mean, self._at(self.post_log_var, t, x_t)

    # ----------------------------------------------------------- reverse process
    def _model(self, model, x, t, counts):
        out = model(x, torch.as_tensor(self.timestep_map, device=t.device)[t], counts).float()
        return out.chunk(2, dim=1) if self.learn_sigma else (out, None)

    def _p_from_output(self, x, t, eps, v, clip):
        if v is None:
            log_var = self._at(self.large_log_var, t, x).expand_as(x)
        else:
            frac = (v + 1) / 2  # improved DDPM Eq. 15
            log_var = frac * self._at(np.log(self.betas), t, x) + (1 - frac) * self._at(self.post_log_var, t, x)
        x0 = self.pred_xstart_from_eps(x, t, eps)
        if clip:
            x0 = x0.clamp(-1, 1)
        mean, _ = self.q_posterior(x0, x, t)
        return mean, log_var, x0

    # ------------------------------------------------------------------ training
    def training_losses(self, model, x0, t, counts, noise=None) -> dict[str, torch.Tensor]:
        """Per-batch means of ``mse`` (P2-weighted L_simple), ``vb`` (lambda L_vlb, 0
        without learned variance) and ``loss`` = mse + vb; also ``x_t`` and the
        predicted ``eps`` for losses on the x0 estimate."""
        noise = torch.randn_like(x0) if noise is None else noise
        x_t = self.q_sample(x0, t, noise)
        eps, v = self._model(model, x_t, t, counts)
        mse = _mean((noise - eps) ** 2)
        if self.p2_gamma:
            mse = mse * self._at(self.p2_weight, t, x0).flatten()
        vb = torch.zeros_like(mse)
        if v is not None:
            # L_vlb only trains the variance: the mean comes from a frozen eps
            mean, log_var, _ = self._p_from_output(x_t, t, eps.detach(), v, clip=False)
            true_mean, true_log_var = self.q_posterior(x0, x_t, t)
            kl = _mean(normal_kl(true_mean, true_log_var, mean, log_var)) / math.log(2.0)
            nll = _mean(discretized_gaussian_nll(x0, mean, log_var)) / math.log(2.0)
            # lambda = 0.001 applied to L_vlb = T * E_t[L_t]: weight T/1000 on the sampled term
            vb = torch.where(t == 0, nll, kl) * (self.num_timesteps / 1000.0 if self.rescale else 1.0)
        return {"loss": (mse + vb).mean(), "mse": mse.mean(), "vb": vb.mean(), "x_t": x_t, "eps": eps}

    # ------------------------------------------------------------------ sampling
    def start(self, noise: torch.Tensor, x0_mean: torch.Tensor | None = None) -> torch.Tensor:
        """The sampler's x_T from standard normal ``noise``.

        ``x0_mean=None``: ``noise`` itself, the usual N(0, I) prior.  Given the
        expected clean layout (per pixel or broadcastable), the moment-matched
        prior N(sqrt(alpha_bar_T) E[x0], (1 - alpha_bar_T) I) instead: the
        forward marginal q(x_T) has exactly this mean, and its covariance
        differs from (1 - alpha_bar_T) I only by alpha_bar_T Cov(x0).  The
        cosine schedule leaves alpha_bar_T > 0 at the first respaced step
        (0.0058 at t = 950 of 1000), so for layouts that are ~99 % background
        (x0 = -1) real x_T carry a mean offset of about -0.076 per pixel,
        which a network picks up over tens of thousands of pixels; started
        from N(0, I) an incompletely trained one reads "half foreground" from
        the missing offset (the signal-leak bias: Lin et al., WACV 2024;
        Everaert et al., WACV 2024).
        """
        if x0_mean is None:
            return noise
        ac = float(self.alphas_cumprod[-1])
        return math.sqrt(ac) * x0_mean + math.sqrt(1.0 - ac) * noise

    @torch.no_grad()
    def sample(self, model, noise, counts, *, sampler="ddim", eta=0.0, generator=None, clip=True, progress=False):
        """Run the reverse process from ``noise`` (B, C, H, W) at x_T to x_0.

        ``ddim``: DDIM update (Song et al. Eq. 12) with ``eta`` (0 = deterministic);
        ``ancestral``: x_{t-1} ~ N(mu_theta, Sigma_theta).
        """
        if sampler not in ("ddim", "ancestral"):
            raise ValueError(f"sampler must be 'ddim' or 'ancestral', not {sampler!r}")
        x = noise
        steps = range(self.num_timesteps - 1, -1, -1)
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc="sampling", leave=False)
        for i in steps:
            t = torch.full((x.shape[0],), i, device=x.device, dtype=torch.long)
            eps, v = self._model(model, x, t, counts)
            mean, log_var, x0 = self._p_from_output(x, t, eps, v, clip)
            noisy = i > 0 and (sampler == "ancestral" or eta > 0)
            z = torch.randn(x.shape, generator=generator, device=x.device) if noisy else torch.zeros_like(x)
            if sampler == "ancestral":
                x = mean + torch.exp(0.5 * log_var) * z
                continue
            eps = self._eps_from_xstart(x, t, x0)  # consistent with the clipped x0
            ac, ac_prev = self._at(self.alphas_cumprod, t, x), self._at(self.alphas_cumprod_prev, t, x)
            sigma = eta * ((1 - ac_prev) / (1 - ac) * (1 - ac / ac_prev)).sqrt()
            x = ac_prev.sqrt() * x0 + (1 - ac_prev - sigma**2).sqrt() * eps + sigma * z
        return x
