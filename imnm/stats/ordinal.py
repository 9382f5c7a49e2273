"""Cumulative-logit (proportional-odds) models of an ordered outcome, frequentist.

Both models use R's parameterisation, ``logit P(Y <= k) = theta_k - x'beta`` (``- u`` with a
random intercept), so a positive coefficient moves the outcome up the scale:

* `cumulative_logit`: no random effect, as ``MASS::polr(..., Hess = TRUE)``; Newton-Raphson
  on the exact log-likelihood, SEs from its analytic Hessian.
* `cumulative_logit_mixed`: a normal random intercept per group, as ``ordinal::clmm(...,
  nAGQ = n_quadrature)``: maximum likelihood with adaptive Gauss-Hermite quadrature centred
  at each group's conditional mode (one node is the Laplace approximation). The objective,
  its exact gradient (the nodes move with the parameters) and the Hessian (central
  differences of that gradient) are those of clmm's, so estimates and SEs agree with R's.

Pure functions (no I/O). Rows with a missing outcome or predictor are dropped (complete-case,
R's ``na.omit``); a missing group is an error. Thresholds, coefficients and the random-effect
SD are reported on their natural scales (the SD's SE by the delta method from log SD, its
interval exp(log SD +/- z SE)); ``p_value`` is Wald's, for coefficients only. A fit that does
not converge, or runs away (separation), says so in ``converged`` and ``message``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special, stats

from imnm.stats.wald import MAX_LOG_RATIO, check_confidence, complete_cases

__all__ = [
    "OrdinalFit",
    "cumulative_logit",
    "cumulative_logit_mixed",
    "predicted_category_probabilities",
]

# Newton's stop for polr and for each group's conditional mode (max |gradient|).
_NEWTON_TOL = 1e-10
_MODE_TOL = 1e-11
# A fit counts as converged when max |d loglik / d parameter| is below this.
_GRADIENT_TOL = 1e-4
# Central-difference step for the mixed model's Hessian (of the analytic gradient).
_HESSIAN_STEP = 1e-4
# Below this the random-effect SD is at its boundary (0): no SE for it.
_BOUNDARY_SD = 1e-3
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class OrdinalFit:
    """A cumulative-logit fit: one row per threshold, coefficient and random-effect SD.

    ``terms`` columns: term, kind ("threshold", "coefficient", "random_sd"), estimate, se,
    ci_low, ci_high, p_value (NaN but for coefficients). ``covariance`` is the estimates'
    covariance on their natural scales (rows and columns named by term). ``loglik`` is the
    maximised log-likelihood (the quadrature's approximation for the mixed model, as clmm's).
    """

    terms: pd.DataFrame
    covariance: pd.DataFrame
    loglik: float
    n_obs: int
    n_groups: int | None
    converged: bool
    message: str
    confidence: float
    levels: tuple[Hashable, ...]
    predictors: tuple[str, ...]
    max_gradient: float  # max |d loglik / d parameter| at the estimates
    iterations: int  # Newton (polr) or BFGS (mixed) iterations
    function_evaluations: int
    random_sd: float | None = None
    random_variance: float | None = None
    log_sd: float | None = None  # the optimiser's parameter, and its SE (clmm's vcov "ST1")
    log_sd_se: float | None = None
    n_quadrature: int | None = None
    group_col: str | None = None

    def term(self, name: str) -> pd.Series:
        """The row of `terms` for one term (a threshold "k|k+1", a predictor, "sd(group)")."""
        rows = self.terms[self.terms["term"] == name]
        if rows.empty:
            raise KeyError(f"no term {name!r}; terms are {list(self.terms['term'])}")
        return rows.iloc[0]


# ------------------------------------------------------------------------------------------
# Input checks


def _outcome_codes(y: pd.Series, outcome_col: str) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    """Integer codes 0..K-1 of an ordered outcome and its levels; errors for bad outcomes."""
    if isinstance(y.dtype, pd.CategoricalDtype):
        if not y.dtype.ordered:
            raise ValueError(f"outcome {outcome_col!r} is an unordered categorical: make it "
                             "ordered (its categories in order) or integer-coded")
        levels = tuple(y.cat.categories)
        codes = y.cat.codes.to_numpy()
        counts = np.bincount(codes, minlength=len(levels))
        empty = [levels[i] for i in np.flatnonzero(counts == 0)]
        if empty:
            raise ValueError(f"outcome {outcome_col!r} has no rows at level(s) {empty}: a "
                             "threshold next to an empty level cannot be estimated (drop "
                             "unused categories, or merge levels)")
    else:
        s = y.infer_objects()
        if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
            s = s.astype(int)
        if not pd.api.types.is_numeric_dtype(s):
            raise ValueError(f"outcome {outcome_col!r} must be an ordered integer code or an "
                             f"ordered categorical, got {s.dtype}")
        values = s.to_numpy(dtype=float)
        if not (np.isfinite(values).all() and (values == np.round(values)).all()):
            raise ValueError(f"outcome {outcome_col!r} must hold whole numbers (ordered codes)")
        present = np.unique(values).astype(int)
        full = np.arange(present[0], present[-1] + 1)
        missing = sorted(set(full.tolist()) - set(present.tolist()))
        if missing:
            raise ValueError(f"outcome {outcome_col!r} has no rows at level(s) {missing} "
                             f"between {present[0]} and {present[-1]}: a threshold next to "
                             "an empty level cannot be estimated (recode or merge levels)")
        levels = tuple(int(v) for v in full)
        codes = values.astype(int) - int(present[0])
    if len(levels) < 2:
        raise ValueError(f"outcome {outcome_col!r} needs at least 2 levels, got "
                         f"{len(levels)} ({list(levels)}) among {len(y)} complete rows")
    return codes.astype(np.intp), levels


def _design(data: pd.DataFrame, predictor_cols: Sequence[str]) -> np.ndarray:
    """The predictors as a float matrix; errors for non-numeric or constant columns."""
    columns = []
    for col in predictor_cols:
        s = data[col].infer_objects()
        if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
            s = s.astype(int)
        if not pd.api.types.is_numeric_dtype(s):
            raise ValueError(f"predictor {col!r} must be numeric or boolean (build dummies "
                             f"first), got {s.dtype}")
        v = s.to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise ValueError(f"predictor {col!r} has non-finite values")
        if np.ptp(v) == 0:
            raise ValueError(f"predictor {col!r} is constant ({v[0]:g}) over the "
                             f"{len(v)} complete rows: its coefficient is not identified")
        columns.append(v)
    return np.column_stack(columns) if columns else np.zeros((len(data), 0))


def _prepare(data: pd.DataFrame, outcome_col: str, predictor_cols: Sequence[str],
             extra_cols: Sequence[str] = ()) -> pd.DataFrame:
    predictor_cols = list(predictor_cols)
    if outcome_col in predictor_cols:
        raise ValueError(f"outcome {outcome_col!r} is also a predictor")
    return complete_cases(data, [outcome_col, *predictor_cols, *extra_cols])


def _threshold_names(levels: tuple[Hashable, ...]) -> list[str]:
    return [f"{levels[k]}|{levels[k + 1]}" for k in range(len(levels) - 1)]


# ------------------------------------------------------------------------------------------
# The logistic pieces of one observation's log-likelihood log(F(a) - F(b))


def _logistic(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F(x), 1 - F(x) (each to full relative precision) and the density f(x)."""
    big_f, small_s = special.expit(x), special.expit(-x)
    return big_f, small_s, big_f * small_s


def _cell_probability(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """P = F(a) - F(b) without cancellation, and F, S, f at a and b."""
    fa_, sa_, da = _logistic(a)
    fb_, sb_, db = _logistic(b)
    prob = np.where(b >= 0, sb_ - sa_, fa_ - fb_)
    return prob, (fa_, sa_, da, fb_, sb_, db)


# ------------------------------------------------------------------------------------------
# Fixed-effects model (MASS::polr)


def _polr_loglik(theta: np.ndarray, beta: np.ndarray, y: np.ndarray, x: np.ndarray
                 ) -> float:
    if np.any(np.diff(theta) <= 0):
        return -math.inf
    ext = np.concatenate(([-np.inf], theta, [np.inf]))
    eta = x @ beta
    prob, _ = _cell_probability(ext[y + 1] - eta, ext[y] - eta)
    with np.errstate(divide="ignore"):
        return float(np.log(prob).sum())


def _polr_derivatives(theta: np.ndarray, beta: np.ndarray, y: np.ndarray, x: np.ndarray
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and Hessian in (theta, beta)."""
    n_thr = theta.size
    ext = np.concatenate(([-np.inf], theta, [np.inf]))
    eta = x @ beta
    prob, (fa_, sa_, da, fb_, sb_, db) = _cell_probability(ext[y + 1] - eta, ext[y] - eta)
    d1a, d1b = da * (sa_ - fa_), db * (sb_ - fb_)
    with np.errstate(divide="ignore"):
        loglik = float(np.log(prob).sum())
    la, lb = da / prob, -db / prob
    laa = d1a / prob - la**2
    lbb = -d1b / prob - lb**2
    lab = da * db / prob**2
    n = y.size
    ja = np.zeros((n, n_thr + x.shape[1]))
    jb = np.zeros_like(ja)
    upper, lower = y < n_thr, y > 0
    ja[np.flatnonzero(upper), y[upper]] = 1.0
    jb[np.flatnonzero(lower), y[lower] - 1] = 1.0
    ja[:, n_thr:] = -x
    jb[:, n_thr:] = -x
    grad = ja.T @ la + jb.T @ lb
    hess = (ja.T @ (laa[:, None] * ja) + jb.T @ (lbb[:, None] * jb)
            + ja.T @ (lab[:, None] * jb) + jb.T @ (lab[:, None] * ja))
    return loglik, grad, hess


def _polr_start(y: np.ndarray, n_levels: int, p: int) -> np.ndarray:
    cum = np.cumsum(np.bincount(y, minlength=n_levels))[:-1] / y.size
    return np.concatenate((special.logit(np.clip(cum, 1e-6, 1 - 1e-6)), np.zeros(p)))


def _fit_polr(y: np.ndarray, x: np.ndarray, n_levels: int, max_iter: int = 200
              ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, int, int, bool]:
    """Newton-Raphson with step halving from the marginal thresholds and beta = 0.

    Returns (params, loglik, gradient, Hessian, iterations, evaluations, converged)."""
    n_thr = n_levels - 1
    params = _polr_start(y, n_levels, x.shape[1])
    loglik, grad, hess = _polr_derivatives(params[:n_thr], params[n_thr:], y, x)
    tol = _NEWTON_TOL * max(1.0, y.size / 100)
    iteration, evaluations, ok = 0, 1, False
    while iteration < max_iter:
        if np.max(np.abs(grad)) < tol:
            ok = True
            break
        iteration += 1
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            step = grad / max(1.0, float(np.max(np.abs(np.diag(hess)))))
        factor = 1.0
        for _ in range(60):
            trial = params + factor * step
            trial_ll = _polr_loglik(trial[:n_thr], trial[n_thr:], y, x)
            evaluations += 1
            if trial_ll >= loglik - 1e-12 * abs(loglik):
                break
            factor /= 2.0
        else:
            # No step improves: the optimum, up to rounding, if the gradient is small.
            ok = bool(np.max(np.abs(grad)) < _GRADIENT_TOL)
            break
        params = trial
        loglik, grad, hess = _polr_derivatives(params[:n_thr], params[n_thr:], y, x)
        evaluations += 1
    return params, loglik, grad, hess, iteration, evaluations, ok


# ------------------------------------------------------------------------------------------
# Random-intercept model (ordinal::clmm) by adaptive Gauss-Hermite quadrature


class _MixedProblem:
    """The clmm negative log-likelihood and its exact gradient for one data set.

    Parameters psi = (theta_1..theta_{K-1}, beta, log sd), natural scales. Rows are sorted by
    group; every per-group sum is an ``np.add.reduceat`` over the rows. The random effect is
    sd * v with v ~ N(0, 1); each group's integral over v is taken at nodes u_i + z_k / sqrt(D_i)
    (u_i its conditional mode, D_i minus the second derivative of its log integrand there).
    """

    def __init__(self, y: np.ndarray, x: np.ndarray, group: np.ndarray, n_levels: int,
                 n_quadrature: int) -> None:
        self.y, self.x, self.group = y, x, group
        self.n_thr, self.p = n_levels - 1, x.shape[1]
        self.starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        self.n_groups = self.starts.size
        nodes, weights = hermegauss(n_quadrature)
        self.nodes = nodes
        # log of the weights for integrating phi(z) g(z), times exp(z^2/2) sqrt(2 pi).
        self.log_weights = np.log(weights / math.sqrt(2 * math.pi)) + nodes**2 / 2 + _LOG_2PI / 2
        self.modes = np.zeros(self.n_groups)
        self.mode_failed = False
        self.n_eval = 0

    def _sum(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0)

    def _bases(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        theta, beta = psi[:self.n_thr], psi[self.n_thr:self.n_thr + self.p]
        ext = np.concatenate(([-np.inf], theta, [np.inf]))
        eta = self.x @ beta
        return ext[self.y + 1] - eta, ext[self.y] - eta, math.exp(psi[-1])

    def _find_modes(self, base_a: np.ndarray, base_b: np.ndarray, sd: float
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """Each group's conditional mode by vectorised Newton (warm-started), with the
        derivatives of each row's log-likelihood there; None if Newton fails."""
        u = self.modes.copy()
        step = np.zeros_like(u)
        previous = np.full_like(u, -np.inf)
        halvings = 0
        for _ in range(300):
            v = u[self.group]
            a, b = base_a - sd * v, base_b - sd * v
            prob, (fa_, sa_, da, fb_, sb_, db) = _cell_probability(a, b)
            with np.errstate(divide="ignore", invalid="ignore"):
                logp = np.log(prob)
                g = self._sum(logp) - u**2 / 2
            # A Newton step that overshoots (a real fall, not rounding) is halved.
            bad = np.isfinite(previous) & ~(g >= previous - 1e-10 * (1.0 + np.abs(previous)))
            if bad.any():
                halvings += 1
                if halvings > 60:
                    return None
                step[bad] /= 2.0
                u[bad] -= step[bad]
                continue
            halvings = 0
            with np.errstate(invalid="ignore", divide="ignore"):
                q1 = (da - db) / prob
                d1a, d1b = da * (sa_ - fa_), db * (sb_ - fb_)
                q2 = (d1a - d1b) / prob
            m2 = q2 - q1**2
            grad_u = -sd * self._sum(q1) - u
            curv = 1.0 - sd**2 * self._sum(m2)
            if not (np.isfinite(grad_u).all() and np.isfinite(curv).all()):
                return None
            if np.max(np.abs(grad_u)) < _MODE_TOL:
                d2a, d2b = da * (1 - 6 * da), db * (1 - 6 * db)
                q3 = (d2a - d2b) / prob
                parts = {"prob": prob, "fa": da, "fb": db, "d1a": d1a, "d1b": d1b,
                         "d2a": d2a, "d2b": d2b, "m1": q1, "m2": m2, "q2": q2,
                         "m3": q3 - 3 * q1 * q2 + 2 * q1**3, "D": curv}
                self.modes = u
                return u, parts
            previous = g
            step = grad_u / curv
            u = u + step
        return None

    def evaluate(self, psi: np.ndarray, adapt: bool = True,
                 frozen: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[float, np.ndarray]:
        """Negative log-likelihood and its gradient in psi.

        adapt=True: nodes at the conditional modes for these parameters (clmm's objective;
        the gradient includes the nodes' movement). adapt=False: nodes frozen at
        `frozen` = (centres, scales) and the gradient of that fixed-node objective.
        """
        self.n_eval += 1
        base_a, base_b, sd = self._bases(psi)
        n_par = psi.size
        if frozen is None:
            found = self._find_modes(base_a, base_b, sd)
            if found is None:
                self.mode_failed = True
                return math.inf, np.full(n_par, np.nan)
            u, at_mode = found
            scale = 1.0 / np.sqrt(at_mode["D"])
        else:
            (u, scale), at_mode = frozen, None
        v = u[:, None] + scale[:, None] * self.nodes[None, :]          # groups x nodes
        vr = v[self.group]                                              # rows x nodes
        a, b = base_a[:, None] - sd * vr, base_b[:, None] - sd * vr
        prob, (_, _, da, _, _, db) = _cell_probability(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = np.log(prob)
            la, lb = da / prob, -db / prob
        log_g = self._sum(logp) - v**2 / 2 - _LOG_2PI / 2             # groups x nodes
        terms = self.log_weights[None, :] + log_g
        top = np.max(terms, axis=1)
        log_int = top + np.log(np.sum(np.exp(terms - top[:, None]), axis=1))
        nll = -float(np.sum(np.log(scale) + log_int))
        if not math.isfinite(nll):
            return math.inf, np.full(n_par, np.nan)
        post = np.exp(terms - log_int[:, None])                         # groups x nodes
        post_r = post[self.group]
        m1 = la + lb
        w_a = np.sum(post_r * la, axis=1)
        w_b = np.sum(post_r * lb, axis=1)
        w_rho = np.sum(post_r * (-sd * vr * m1), axis=1)
        if adapt and at_mode is not None:
            # The nodes move with psi: d log L_i = (fixed-node part) + dlogL/dc du_i
            # + dlogL/ds ds_i, with du_i = dG1_i / D_i (implicit function), s_i = D_i^-1/2
            # and dD_i = -(dG2_i + G3_i du_i), G1..G3 the derivatives of the group's log
            # integrand in v at its mode; it sums to alpha_i dG1_i + beta_i dG2_i, taken
            # per row through the derivatives of m1 and m2 in a and b.
            d_v = -sd * self._sum(m1) - v                                # G'(v) at the nodes
            c_centre = np.sum(post * d_v, axis=1)
            c_scale = 1.0 / scale + np.sum(post * d_v * self.nodes[None, :], axis=1)
            big_d = at_mode["D"]
            third = -sd**3 * self._sum(at_mode["m3"])
            beta_g = 0.5 * c_scale * big_d**-1.5
            alpha_g = c_centre / big_d + beta_g * third / big_d
            al, be = alpha_g[self.group], beta_g[self.group]
            prob0 = at_mode["prob"]
            mm1, mm2, q2 = at_mode["m1"], at_mode["m2"], at_mode["q2"]
            dm1a = (at_mode["d1a"] - mm1 * at_mode["fa"]) / prob0
            dm1b = (-at_mode["d1b"] + mm1 * at_mode["fb"]) / prob0
            dm2a = (at_mode["d2a"] - q2 * at_mode["fa"]) / prob0 - 2 * mm1 * dm1a
            dm2b = (-at_mode["d2b"] + q2 * at_mode["fb"]) / prob0 - 2 * mm1 * dm1b
            u_r = u[self.group]
            w_a = w_a + al * (-sd * dm1a) + be * sd**2 * dm2a
            w_b = w_b + al * (-sd * dm1b) + be * sd**2 * dm2b
            w_rho = (w_rho + al * (-sd * mm1 + sd**2 * u_r * mm2)
                     + be * (2 * sd**2 * mm2 - sd**3 * u_r * at_mode["m3"]))
        grad = np.empty(n_par)
        k = self.n_thr + 1
        grad[:self.n_thr] = (np.bincount(self.y, w_a, minlength=k)[:self.n_thr]
                             + np.bincount(self.y, w_b, minlength=k)[1:])
        grad[self.n_thr:self.n_thr + self.p] = -(self.x.T @ (w_a + w_b))
        grad[-1] = np.sum(w_rho)
        return nll, -grad

    def frozen_nodes(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The adaptive centres and scales for these parameters."""
        base_a, base_b, sd = self._bases(psi)
        found = self._find_modes(base_a, base_b, sd)
        if found is None:
            raise FloatingPointError("conditional modes not found")
        u, at_mode = found
        return u.copy(), 1.0 / np.sqrt(at_mode["D"])


def _to_natural(xi: np.ndarray, n_thr: int) -> np.ndarray:
    """Optimiser parameters (first threshold, log increments, beta, log sd) -> psi."""
    theta = np.cumsum(np.concatenate((xi[:1], np.exp(xi[1:n_thr]))))
    return np.concatenate((theta, xi[n_thr:]))


def _to_internal(psi: np.ndarray, n_thr: int) -> np.ndarray:
    theta = psi[:n_thr]
    return np.concatenate((theta[:1], np.log(np.diff(theta)), psi[n_thr:]))


def _chain_to_internal(grad_psi: np.ndarray, xi: np.ndarray, n_thr: int) -> np.ndarray:
    g = grad_psi.copy()
    tail = np.cumsum(grad_psi[:n_thr][::-1])[::-1]                  # sum_{k >= m} dF/dtheta_k
    g[0] = tail[0]
    g[1:n_thr] = np.exp(xi[1:n_thr]) * tail[1:]
    return g


def _fd_hessian(gradient: Callable[[np.ndarray], np.ndarray], psi: np.ndarray, n_thr: int,
                step: float) -> np.ndarray:
    """Central differences of an analytic gradient, symmetrised; steps keep thresholds ordered."""
    n = psi.size
    hess = np.empty((n, n))
    gap = float(np.min(np.diff(psi[:n_thr]), initial=np.inf))
    for j in range(n):
        h = min(step * max(1.0, abs(psi[j])), 0.25 * gap)
        up, down = psi.copy(), psi.copy()
        up[j] += h
        down[j] -= h
        hess[:, j] = (gradient(up) - gradient(down)) / (2 * h)
    return (hess + hess.T) / 2


def _optimise(problem: _MixedProblem, psi0: np.ndarray, n_thr: int
              ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, optimize.OptimizeResult]:
    """BFGS on (first threshold, log increments, beta, log sd), then Newton steps on the
    exact gradient with its differenced Hessian; returns psi, nll, gradient, Hessian, BFGS."""

    def internal(xi: np.ndarray) -> tuple[float, np.ndarray]:
        if not np.all(np.isfinite(xi)) or np.max(np.abs(xi[n_thr:])) > 1e3:
            return math.inf, np.zeros_like(xi)
        nll, g = problem.evaluate(_to_natural(xi, n_thr))
        if not math.isfinite(nll):
            return 1e300, np.zeros_like(xi)
        return nll, _chain_to_internal(g, xi, n_thr)

    def gradient(p: np.ndarray) -> np.ndarray:
        return problem.evaluate(p)[1]

    # BFGS: fewer evaluations here than L-BFGS-B, and far less overhead per step.
    result = optimize.minimize(internal, _to_internal(psi0, n_thr), jac=True, method="BFGS",
                               options={"maxiter": 2000, "gtol": 1e-8})
    psi = _to_natural(result.x, n_thr)
    nll, grad = problem.evaluate(psi)
    hess = _fd_hessian(gradient, psi, n_thr, _HESSIAN_STEP)
    # BFGS may stop short on a flat optimum: Newton polishes to |gradient| < 1e-9.
    for _ in range(8):
        if not math.isfinite(nll) or np.max(np.abs(grad)) < 1e-9:
            break
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        factor, moved = 1.0, False
        for _ in range(20):
            trial = psi - factor * step
            if np.all(np.diff(trial[:n_thr]) > 0):
                t_nll, t_grad = problem.evaluate(trial)
                if math.isfinite(t_nll) and t_nll <= nll + 1e-10 * abs(nll):
                    psi, nll, grad, moved = trial, t_nll, t_grad, True
                    break
            factor /= 2
        if not moved:
            break
        hess = _fd_hessian(gradient, psi, n_thr, _HESSIAN_STEP)
    nll, grad = problem.evaluate(psi)
    return psi, nll, grad, hess, result


# ------------------------------------------------------------------------------------------
# Results


def _terms_frame(names: list[str], kinds: list[str], estimates: np.ndarray, ses: np.ndarray,
                 confidence: float) -> pd.DataFrame:
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    est, se = np.asarray(estimates, float), np.asarray(ses, float)
    low, high = est - z * se, est + z * se
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2.0 * stats.norm.sf(np.abs(est / se))
    kinds_arr = np.asarray(kinds)
    p = np.where(kinds_arr == "coefficient", p, np.nan)
    sd_rows = kinds_arr == "random_sd"
    if sd_rows.any():
        # The SD's interval is Wald's on log SD, so it stays positive.
        with np.errstate(divide="ignore", invalid="ignore"):
            log_se = se[sd_rows] / est[sd_rows]
            low[sd_rows] = est[sd_rows] * np.exp(-z * log_se)
            high[sd_rows] = est[sd_rows] * np.exp(z * log_se)
    return pd.DataFrame({"term": names, "kind": kinds, "estimate": est, "se": se,
                         "ci_low": low, "ci_high": high, "p_value": p})


def _runaway(estimates: np.ndarray, ses: np.ndarray, names: list[str], z: float) -> list[str]:
    """Terms whose estimate or Wald bound passes e^50 (a divergent fit, as `wald_ratio`)."""
    with np.errstate(invalid="ignore"):
        bound = np.where(np.isfinite(ses), np.abs(estimates) + z * ses, np.abs(estimates))
    bad = ~np.isfinite(estimates) | (bound > MAX_LOG_RATIO)
    return [n for n, flag in zip(names, bad, strict=True) if flag]


def _covariance(hess: np.ndarray) -> np.ndarray | None:
    """Inverse of a positive-definite Hessian of the negative log-likelihood, else None."""
    if not np.isfinite(hess).all():
        return None
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
    inv_chol = np.linalg.solve(chol, np.eye(hess.shape[0]))
    return inv_chol.T @ inv_chol


# ------------------------------------------------------------------------------------------
# Public API


def cumulative_logit(data: pd.DataFrame, outcome_col: str, predictor_cols: Sequence[str],
                     confidence: float = 0.95) -> OrdinalFit:
    """Proportional-odds model logit P(Y <= k) = theta_k - x'beta, as R's MASS::polr.

    The outcome is ordered integer codes (levels are min..max, none empty) or an ordered
    categorical; predictors are numeric or boolean (the caller builds dummies). SEs come from
    the analytic Hessian at the optimum, as ``polr(..., Hess = TRUE)``'s.
    """
    check_confidence(confidence)
    predictor_cols = list(predictor_cols)
    rows = _prepare(data, outcome_col, predictor_cols)
    y, levels = _outcome_codes(rows[outcome_col], outcome_col)
    x = _design(rows, predictor_cols)
    n_thr = len(levels) - 1
    params, loglik, grad, hess, iterations, evaluations, ok = _fit_polr(y, x, len(levels))
    cov = _covariance(-hess)
    names = _threshold_names(levels) + predictor_cols
    kinds = ["threshold"] * n_thr + ["coefficient"] * len(predictor_cols)
    ses = np.sqrt(np.diag(cov)) if cov is not None else np.full(params.size, np.nan)
    max_grad = float(np.max(np.abs(grad)))
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    problems = []
    if not ok:
        problems.append(f"Newton-Raphson did not converge in {iterations} steps "
                        f"(max |gradient| {max_grad:.2g})")
    if cov is None:
        problems.append("the Hessian is not positive definite (collinear predictors, or "
                        "separation?)")
    runaway = _runaway(params, ses, names, z)
    if runaway:
        problems.append(f"estimates run away for {runaway} (separation: an outcome level "
                        "(nearly) determined by the predictors), so they cannot be estimated")
    converged = not problems and max_grad < _GRADIENT_TOL
    message = "converged" if converged else "; ".join(problems) or "gradient not small"
    return OrdinalFit(
        terms=_terms_frame(names, kinds, params, ses, confidence),
        covariance=pd.DataFrame(cov if cov is not None else np.full(hess.shape, np.nan),
                                index=names, columns=names),
        loglik=loglik, n_obs=int(y.size), n_groups=None, converged=converged,
        message=message, confidence=confidence, levels=levels,
        predictors=tuple(predictor_cols), max_gradient=max_grad, iterations=iterations,
        function_evaluations=evaluations)


def cumulative_logit_mixed(data: pd.DataFrame, outcome_col: str, predictor_cols: Sequence[str],
                           group_col: str, confidence: float = 0.95, n_quadrature: int = 10
                           ) -> OrdinalFit:
    """Proportional-odds model with a normal random intercept per group, as ordinal::clmm.

    logit P(Y <= k | u) = theta_k - x'beta - u, u ~ N(0, sd^2), fitted by maximum likelihood
    with adaptive Gauss-Hermite quadrature on `n_quadrature` nodes (clmm's nAGQ; 1 is the
    Laplace approximation). A missing group is an error; other incomplete rows are dropped.
    """
    check_confidence(confidence)
    if not isinstance(n_quadrature, int | np.integer) or not 1 <= n_quadrature <= 100:
        raise ValueError(f"n_quadrature must be an integer from 1 to 100, got {n_quadrature!r}")
    predictor_cols = list(predictor_cols)
    if group_col not in data.columns:
        raise ValueError(f"column(s) not in data frame: {[group_col]}")
    if group_col == outcome_col or group_col in predictor_cols:
        raise ValueError(f"group {group_col!r} is also the outcome or a predictor")
    if data[group_col].isna().any():
        raise ValueError(f"group column {group_col!r} has {int(data[group_col].isna().sum())} "
                         "missing value(s): every row needs its group")
    rows = _prepare(data, outcome_col, predictor_cols, [group_col])
    group_codes, _ = pd.factorize(rows[group_col], sort=True)
    order = np.argsort(group_codes, kind="stable")
    rows = rows.iloc[order]
    group = group_codes[order].astype(np.intp)
    y, levels = _outcome_codes(rows[outcome_col], outcome_col)
    x = _design(rows, predictor_cols)
    n_thr = len(levels) - 1
    if group.max() + 1 < 2:
        raise ValueError(f"group {group_col!r} has a single level: no random effect to fit")
    problem = _MixedProblem(y, x, group, len(levels), int(n_quadrature))

    # Start as clmm: the fixed-effects fit and sd = 1.
    start, *_ = _fit_polr(y, x, len(levels))
    if not np.all(np.isfinite(start)) or np.any(np.diff(start[:n_thr]) <= 0):
        start = _polr_start(y, len(levels), x.shape[1])
    psi, nll, grad, hess, result = _optimise(problem, np.concatenate((start, [0.0])), n_thr)
    sd = math.exp(psi[-1])
    names = _threshold_names(levels) + predictor_cols
    sd_name = f"sd({group_col})"
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    problems = []
    if not result.success and np.max(np.abs(grad)) >= _GRADIENT_TOL:
        problems.append(f"the optimiser stopped: {result.message}")
    if problem.mode_failed and not math.isfinite(nll):
        problems.append("the groups' conditional modes could not be found")
    max_grad = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else math.inf
    boundary = sd < _BOUNDARY_SD
    n_fixed = psi.size - 1
    if boundary:
        cov_fixed = _covariance(hess[:n_fixed, :n_fixed])
        cov = np.full(hess.shape, np.nan)
        if cov_fixed is not None:
            cov[:n_fixed, :n_fixed] = cov_fixed
        max_grad = float(np.max(np.abs(grad[:n_fixed])))
    else:
        cov_full = _covariance(hess)
        cov = cov_full if cov_full is not None else np.full(hess.shape, np.nan)
    if max_grad >= _GRADIENT_TOL:
        problems.append(f"max |gradient| {max_grad:.2g} is not below {_GRADIENT_TOL:g}")
    if np.isnan(cov[:n_fixed, :n_fixed]).any():
        problems.append("the Hessian is not positive definite (collinear predictors, "
                        "separation, or an unidentified random effect?)")
    se_psi = np.sqrt(np.diag(cov))
    runaway = _runaway(psi[:n_fixed], se_psi[:n_fixed], names, z)
    if runaway:
        problems.append(f"estimates run away for {runaway} (separation: an outcome level "
                        "(nearly) determined by the predictors), so they cannot be estimated")
    if sd > math.exp(MAX_LOG_RATIO / 5):
        problems.append(f"the random-effect SD runs away ({sd:.3g})")
    converged = not problems
    message = "converged" if converged else "; ".join(problems)
    if converged and boundary:
        message = (f"converged; the random-effect SD is at its boundary ({sd:.2g} ~ 0), so "
                   "it has no SE (the data show no between-group variation)")
    # Natural scale for the SD: d sd / d log sd = sd (delta method).
    cov_nat = cov.copy()
    cov_nat[-1, :] *= sd
    cov_nat[:, -1] *= sd
    estimates = np.concatenate((psi[:n_fixed], [sd]))
    ses = np.sqrt(np.diag(cov_nat))
    kinds = ["threshold"] * n_thr + ["coefficient"] * len(predictor_cols) + ["random_sd"]
    all_names = [*names, sd_name]
    return OrdinalFit(
        terms=_terms_frame(all_names, kinds, estimates, ses, confidence),
        covariance=pd.DataFrame(cov_nat, index=all_names, columns=all_names),
        loglik=-nll, n_obs=int(y.size), n_groups=int(problem.n_groups), converged=converged,
        message=message, confidence=confidence, levels=levels,
        predictors=tuple(predictor_cols), max_gradient=max_grad,
        iterations=int(result.nit), function_evaluations=problem.n_eval, random_sd=sd,
        random_variance=sd**2, log_sd=float(psi[-1]), log_sd_se=float(se_psi[-1]),
        n_quadrature=int(n_quadrature), group_col=group_col)


def predicted_category_probabilities(fit: OrdinalFit, x_rows: pd.DataFrame) -> pd.DataFrame:
    """P(Y = level | x) for each row of `x_rows` (the fit's predictor columns), at u = 0.

    For the mixed model these are a typical group's (random effect 0) probabilities, not the
    population average over the random effect. Columns are the outcome levels.
    """
    if not fit.converged:
        raise ValueError(f"the fit did not converge ({fit.message}): no predictions from it")
    missing = [c for c in fit.predictors if c not in x_rows.columns]
    if missing:
        raise ValueError(f"x_rows lacks the fit's predictor column(s) {missing}")
    terms = fit.terms.set_index("term")
    thresholds = terms.loc[terms["kind"] == "threshold", "estimate"].to_numpy()
    beta = terms.loc[list(fit.predictors), "estimate"].to_numpy(dtype=float)
    x = (x_rows[list(fit.predictors)].astype(float).to_numpy()
         if fit.predictors else np.zeros((len(x_rows), 0)))
    eta = x @ beta
    cum = special.expit(thresholds[None, :] - eta[:, None])
    cum = np.hstack((np.zeros((len(x_rows), 1)), cum, np.ones((len(x_rows), 1))))
    return pd.DataFrame(np.diff(cum, axis=1), index=x_rows.index, columns=list(fit.levels))
