"""NumPyro side of `imnm.stats.bayes`: the cumulative-logit model and its compiled samplers.

Everything here imports JAX lazily and runs in float64 (a Dirichlet prior on hundreds of
intercepts does not converge in float32). One sampler (a NumPyro ``MCMC`` with
``jit_model_args``) is kept per model form and array shapes, so a second fit of the same form on
other rows of the same size (another outcome variable, another imputation, another seed or other
prior values) reuses the compiled program instead of compiling again.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EngineDraws", "EngineInput", "clear_sampler_cache", "run_nuts", "sampler_cache_size"]

# Compiled samplers kept, least recently used dropped first (each holds its XLA programs).
_CACHE_LIMIT = 16
_SAMPLERS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
# CPU devices JAX is given (at least one per chain): each runs one chain.
_CPU_DEVICES = 4
# Stands for the infinite thresholds below category 0 and above K-1 (expit(1e8) is 1 exactly).
_EDGE = 1e8


@dataclass(frozen=True, eq=False)
class EngineInput:
    """The arrays and static choices of one fit, as the sampler takes them."""

    x_centered: np.ndarray  # (n, p) float64, predictors minus their means
    y: np.ndarray  # (n,) int, codes 0..k-1
    group: np.ndarray | None  # (n,) int, codes 0..g-1; None without a random intercept
    n_groups: int
    concentration: np.ndarray  # (k,) Dirichlet concentration per category
    coef_family: str  # "normal" | "student_t"
    coef_scale: float
    coef_df: float
    sd_family: str  # "half_t" | "exponential"
    sd_scale: float
    sd_df: float
    chains: int
    warmup: int
    draws: int
    seed: int
    target_accept: float
    max_tree_depth: int


@dataclass(frozen=True, eq=False)
class EngineDraws:
    """Draws by chain: coefficients, centred thresholds, random SD; divergences."""

    coef: np.ndarray  # (chains, draws, p)
    theta_centered: np.ndarray  # (chains, draws, k-1), thresholds at the predictor means
    random_sd: np.ndarray | None  # (chains, draws)
    diverging: np.ndarray  # (chains, draws) bool


def _configure_jax(chains: int) -> str:
    """Switch JAX to 64-bit floats and, before its CPU backend starts, give it one device per
    chain; the chain method that follows. Chains on devices of their own ("parallel") each
    take their own tree depth instead of waiting for the deepest: on 2 cores a hip-flexor
    grade fit of the demo (578 rows, 4 x 1,500 iterations) took 14-16 s against about 22 s
    vectorised."""
    import jax

    jax.config.update("jax_enable_x64", True)
    # Only before anything asks for a device (that starts the backend); once JAX runs, its
    # devices stay as they are.
    with contextlib.suppress(RuntimeError):
        jax.config.update("jax_num_cpu_devices", max(chains, _CPU_DEVICES))
    return "parallel" if jax.local_device_count() >= chains else "vectorized"


def _thresholds_from_cells(pi: Any) -> Any:
    """Thresholds logit P(Y <= k) from cell probabilities, without 1 - cumsum's rounding."""
    import jax.numpy as jnp

    below = jnp.cumsum(pi)[:-1]
    above = jnp.cumsum(pi[::-1])[::-1][1:]
    return jnp.log(below) - jnp.log(above)


def _log1mexp(d: Any) -> Any:
    """log(1 - exp(-d)) for d > 0, accurate at both ends (Maechler 2012)."""
    import jax.numpy as jnp

    return jnp.where(d > np.log(2.0), jnp.log1p(-jnp.exp(-d)), jnp.log(-jnp.expm1(-d)))


def _cumulative_logit_loglik(theta: Any, eta: Any, y: Any) -> Any:
    """Sum of log P(Y = y | eta), logit P(Y <= k) = theta_k - eta, in O(n) and log space.

    P(Y = k) = F_k - F_{k-1} with F_k = expit(theta_k - eta) is computed as
    log expit(theta_k - eta) + log expit(eta - theta_{k-1}) + log(1 - exp(theta_{k-1} - theta_k)),
    exact with theta_{-1} = -inf, theta_{K-1} = +inf stood for by -/+ 1e8 (every term then 0).
    The two gathers touch one threshold each per row, not all K (K is in the hundreds for CK).
    """
    import jax.numpy as jnp
    from jax.nn import log_sigmoid

    edge = jnp.full((1,), _EDGE, dtype=theta.dtype)
    ext = jnp.concatenate([-edge, theta, edge])
    log_gap = _log1mexp(jnp.diff(ext))
    return jnp.sum(log_sigmoid(ext[y + 1] - eta) + log_sigmoid(eta - ext[y]) + log_gap[y])


def _make_model(coef_family: str, sd_family: str, with_group: bool) -> Callable[..., None]:
    """The NumPyro model of one form; numeric prior settings are traced arguments."""
    import numpyro
    import numpyro.distributions as dist

    def model(x: Any, y: Any, group: Any, group_template: Any, concentration: Any,
              coef_scale: Any, coef_df: Any, sd_scale: Any, sd_df: Any) -> None:
        pi = numpyro.sample("pi", dist.Dirichlet(concentration))
        theta = _thresholds_from_cells(pi)
        p = x.shape[1]
        if coef_family == "normal":
            coef_prior = dist.Normal(0.0, coef_scale)
        else:
            coef_prior = dist.StudentT(coef_df, 0.0, coef_scale)
        beta = numpyro.sample("beta", coef_prior.expand([p]).to_event(1))
        eta = x @ beta
        if with_group:
            if sd_family == "half_t":
                sd_prior = dist.FoldedDistribution(dist.StudentT(sd_df, 0.0, sd_scale))
            else:
                sd_prior = dist.Exponential(1.0 / sd_scale)
            sigma = numpyro.sample("sigma", sd_prior)
            z = numpyro.sample("z", dist.Normal(0.0, 1.0)
                               .expand([group_template.shape[0]]).to_event(1))
            eta = eta + sigma * z[group]  # non-centred: u = sigma * z
        numpyro.factor("loglik", _cumulative_logit_loglik(theta, eta, y))

    return model


def _sampler(key: tuple[Any, ...], inp: EngineInput, chain_method: str) -> Any:
    """The cached MCMC object for this form and shape, built on first use."""
    from numpyro.infer import MCMC, NUTS

    sampler = _SAMPLERS.get(key)
    if sampler is not None:
        _SAMPLERS.move_to_end(key)
        return sampler
    model = _make_model(inp.coef_family, inp.sd_family, inp.group is not None)
    kernel = NUTS(model, target_accept_prob=inp.target_accept, max_tree_depth=inp.max_tree_depth)
    sampler = MCMC(kernel, num_warmup=inp.warmup, num_samples=inp.draws, num_chains=inp.chains,
                   chain_method=chain_method, progress_bar=False, jit_model_args=True)
    _SAMPLERS[key] = sampler
    while len(_SAMPLERS) > _CACHE_LIMIT:
        _SAMPLERS.popitem(last=False)
    return sampler


def sampler_cache_size() -> int:
    """How many compiled samplers are kept (one per model form and shape)."""
    return len(_SAMPLERS)


def clear_sampler_cache() -> None:
    """Drop every compiled sampler (the next fit compiles again)."""
    _SAMPLERS.clear()


def run_nuts(inp: EngineInput,
             more_draws: Callable[[EngineDraws], int] | None = None) -> EngineDraws:
    """NUTS draws of the model, chains in parallel (or vectorised), reproducible from
    `inp.seed` on one machine.

    After the first `inp.draws` draws, `more_draws` (when given) is asked with the draws so far
    how many more each chain needs; while it answers n > 0, every chain goes on from where it
    stopped for n draws with the step size and mass matrix of its warm-up (no new warm-up), and
    the draws are appended. The answers depend only on the draws, so the same seed still gives
    the same draws.
    """
    chain_method = _configure_jax(inp.chains)
    import jax
    import jax.numpy as jnp

    with_group = inp.group is not None
    n, p = inp.x_centered.shape
    key = (inp.coef_family, inp.sd_family, with_group, n, p, inp.concentration.shape[0],
           inp.n_groups, inp.chains, inp.warmup, inp.draws, inp.target_accept,
           inp.max_tree_depth, chain_method)
    sampler = _sampler(key, inp, chain_method)
    group = inp.group if with_group else np.zeros(n, dtype=np.int64)
    args = (jnp.asarray(inp.x_centered, dtype=jnp.float64),
            jnp.asarray(inp.y, dtype=jnp.int64),
            jnp.asarray(group, dtype=jnp.int64),
            jnp.zeros(inp.n_groups if with_group else 1, dtype=jnp.float64),
            jnp.asarray(inp.concentration, dtype=jnp.float64),
            float(inp.coef_scale), float(inp.coef_df), float(inp.sd_scale), float(inp.sd_df))
    sampler.run(jax.random.PRNGKey(inp.seed), *args, extra_fields=("diverging",))
    draws = _collected(sampler, with_group)
    if more_draws is None:
        return draws
    try:
        while (extra := int(more_draws(draws))) > 0:
            sampler.num_samples = extra
            sampler.post_warmup_state = sampler.last_state
            sampler.run(sampler.post_warmup_state.rng_key, *args, extra_fields=("diverging",))
            draws = _appended(draws, _collected(sampler, with_group))
    finally:
        # The cached sampler's next fit starts afresh: its own warm-up and `inp.draws` draws.
        sampler.num_samples = inp.draws
        sampler.post_warmup_state = None
    return draws


def _collected(sampler: Any, with_group: bool) -> EngineDraws:
    """The draws of the sampler's last run, by chain."""
    samples = sampler.get_samples(group_by_chain=True)
    pi = np.asarray(samples["pi"], dtype=np.float64)
    below = np.cumsum(pi, axis=-1)[..., :-1]
    above = np.cumsum(pi[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    with np.errstate(divide="ignore"):
        theta = np.log(below) - np.log(above)
    diverging = np.asarray(sampler.get_extra_fields(group_by_chain=True)["diverging"], dtype=bool)
    return EngineDraws(
        coef=np.asarray(samples["beta"], dtype=np.float64),
        theta_centered=theta,
        random_sd=np.asarray(samples["sigma"], dtype=np.float64) if with_group else None,
        diverging=diverging)


def _appended(first: EngineDraws, then: EngineDraws) -> EngineDraws:
    """Each chain's draws followed by its continued draws."""
    return EngineDraws(
        coef=np.concatenate([first.coef, then.coef], axis=1),
        theta_centered=np.concatenate([first.theta_centered, then.theta_centered], axis=1),
        random_sd=None if first.random_sd is None
        else np.concatenate([first.random_sd, then.random_sd], axis=1),
        diverging=np.concatenate([first.diverging, then.diverging], axis=1))
