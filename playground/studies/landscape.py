"""Loss-surface slices (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets") as pure
NumPy functions: random directions, filter normalisation, the 2-D grid of losses and what to
read off it. No Keras here: the study module supplies ``loss_at(weights) -> float``.

Conventions:

* Weights and directions are lists of arrays in the order of the model's trainable variables.
* **Filter normalisation**: a direction tensor is split into filters along ``filter_axes`` (the
  axes that index filters: a Keras conv kernel ``(kh, kw, cin, cout)`` and a Dense kernel
  ``(in, out)`` have one filter per output, ``(ndim - 1,)``; a depthwise kernel
  ``(kh, kw, cin, mult)`` has one per input channel and multiplier, ``(2, 3)``). Each filter
  ``d_j`` is rescaled to the norm of the same filter of the weights, ``d_j * |w_j| / |d_j|``
  (``|d_j| + 1e-10`` below, as Li et al.'s code). Tensors without filters (biases, batch-norm
  scales and offsets: ``filter_axes is None``) get a zero direction, Li et al.'s "ignore biasbn".
* The surface ``Z`` has ``Z[i, j] = loss(w + coords[j] * d1 + coords[i] * d2)``: rows follow the
  second direction (plotly's ``z[y][x]``), so ``Z[c, c]`` with ``c = len(coords) // 2`` is the
  trained point itself when the grid has an odd number of steps.
* Curvature on the slice: the 2x2 Hessian of ``Z`` by central differences at interior grid
  points (exact for a quadratic), its eigenvalues ``lam_min <= lam_max`` (the principal
  curvatures of the slice). Li et al. map ``|lam_min / lam_max|`` to show non-convexity; here the
  share of interior points where ``lam_min < -tol * |lam_max|`` (a saddle or a maximum along the
  slice) and the mean ratio summarise it.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["EPS", "default_filter_axes", "normalize_to_filters", "random_direction",
           "grid_coords", "combine", "surface", "slice_hessians", "curvature_stats",
           "ring_mask", "rise_at", "summarize"]

EPS = 1e-10


def default_filter_axes(shape: Sequence[int], depthwise: bool = False) -> tuple[int, ...] | None:
    """The axes that index filters of a Keras weight of ``shape``: none for rank 0/1 (biases,
    batch norm), the last two for a depthwise kernel, else the last (output channels / units)."""
    ndim = len(shape)
    if ndim < 2:
        return None
    if depthwise and ndim >= 3:
        return (ndim - 2, ndim - 1)
    return (ndim - 1,)


def _filter_norms(a: np.ndarray, filter_axes: Sequence[int]) -> np.ndarray:
    """The L2 norm of every filter of ``a``, kept broadcastable against ``a``."""
    over = tuple(i for i in range(a.ndim) if i not in set(filter_axes))
    if not over:  # every element is its own filter
        return np.abs(a)
    return np.sqrt(np.sum(np.square(a, dtype=np.float64), axis=over, keepdims=True))


def normalize_to_filters(d: np.ndarray, w: np.ndarray,
                         filter_axes: Sequence[int] | None) -> np.ndarray:
    """``d`` with each filter rescaled to the norm of the same filter of ``w`` (zeros when the
    tensor has no filters: ``filter_axes`` None). See the module doc."""
    d = np.asarray(d, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if d.shape != w.shape:
        raise ValueError(f"direction shape {d.shape} differs from weight shape {w.shape}")
    if filter_axes is None:
        return np.zeros_like(d)
    axes = tuple(int(a) % d.ndim for a in filter_axes)
    return d * (_filter_norms(w, axes) / (_filter_norms(d, axes) + EPS))


def random_direction(weights: Sequence[np.ndarray], filter_axes: Sequence[Any],
                     rng: np.random.Generator) -> list[np.ndarray]:
    """A Gaussian random direction in weight space, filter-normalised against ``weights``
    (``filter_axes[k]`` for ``weights[k]``; None gives a zero tensor)."""
    if len(weights) != len(filter_axes):
        raise ValueError(f"{len(weights)} weights but {len(filter_axes)} filter-axes entries")
    out = []
    for w, axes in zip(weights, filter_axes):
        w = np.asarray(w)
        d = rng.standard_normal(w.shape) if axes is not None else np.zeros(w.shape)
        out.append(normalize_to_filters(d, w, axes))
    return out


def grid_coords(steps: int, radius: float) -> np.ndarray:
    """``steps`` evenly spaced coordinates from ``-radius`` to ``radius``; ``steps`` must be odd
    (at least 3) so that 0, the trained point, is on the grid."""
    steps = int(steps)
    if steps < 3 or steps % 2 == 0:
        raise ValueError(f"steps must be odd and at least 3, got {steps}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    coords = np.linspace(-radius, radius, steps)
    coords[steps // 2] = 0.0
    return coords


def combine(weights: Sequence[np.ndarray], d1: Sequence[np.ndarray], d2: Sequence[np.ndarray],
            a: float, b: float) -> list[np.ndarray]:
    """``w + a * d1 + b * d2``, tensor by tensor, in each weight's own dtype."""
    return [(np.asarray(w, np.float64) + a * x + b * y).astype(np.asarray(w).dtype)
            for w, x, y in zip(weights, d1, d2)]


def surface(loss_at: Callable[[list[np.ndarray]], float], weights: Sequence[np.ndarray],
            d1: Sequence[np.ndarray], d2: Sequence[np.ndarray], coords: Sequence[float],
            progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The loss over the grid: ``Z[i, j] = loss_at(w + coords[j] * d1 + coords[i] * d2)``;
    ``progress(done, total)`` after every point."""
    coords = np.asarray(coords, dtype=np.float64)
    n = len(coords)
    z = np.empty((n, n), dtype=np.float64)
    total, done = n * n, 0
    for i, b in enumerate(coords):
        for j, a in enumerate(coords):
            z[i, j] = float(loss_at(combine(weights, d1, d2, float(a), float(b))))
            done += 1
            if progress is not None:
                progress(done, total)
    return z


def slice_hessians(z: np.ndarray, coords: Sequence[float]) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """``(L_aa, L_bb, L_ab)`` at the interior grid points by central differences (the grid must
    be evenly spaced); exact when the surface is a quadratic."""
    z = np.asarray(z, dtype=np.float64)
    c = np.asarray(coords, dtype=np.float64)
    h = float(c[1] - c[0])
    if not np.allclose(np.diff(c), h, rtol=1e-9, atol=1e-12):
        raise ValueError("coords must be evenly spaced")
    mid = z[1:-1, 1:-1]
    laa = (z[1:-1, 2:] - 2 * mid + z[1:-1, :-2]) / h ** 2   # along the columns: direction 1
    lbb = (z[2:, 1:-1] - 2 * mid + z[:-2, 1:-1]) / h ** 2   # along the rows: direction 2
    lab = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / (4 * h ** 2)
    return laa, lbb, lab


def curvature_stats(z: np.ndarray, coords: Sequence[float], tol: float = 0.05,
                    within: float | None = None) -> dict[str, Any]:
    """Principal curvatures of the slice at its interior points (see the module doc): those at
    the centre; ``nonconvex_share``, the share of points with ``lam_min < -tol * scale``
    (``scale`` the larger of ``|lam_min|``, ``|lam_max|``); ``mean_abs_ratio_negative``, the
    mean ``|lam_min| / scale`` over those points (0 when there are none); the per-point maps.
    ``within`` limits the shares to the interior points with ``max(|a|, |b|) <= within``."""
    laa, lbb, lab = slice_hessians(z, coords)
    half_tr = (laa + lbb) / 2
    disc = np.sqrt(((laa - lbb) / 2) ** 2 + lab ** 2)
    lam_min, lam_max = half_tr - disc, half_tr + disc
    scale = np.maximum(np.abs(lam_max), np.abs(lam_min))
    ratio = np.where(scale > 0, np.abs(lam_min) / np.where(scale > 0, scale, 1.0), 0.0)
    inner = np.asarray(coords, dtype=np.float64)[1:-1]
    keep = np.ones_like(lam_min, dtype=bool)
    if within is not None:
        keep = np.maximum(np.abs(inner)[None, :], np.abs(inner)[:, None]) <= within + 1e-12
    nonconvex = (lam_min < -tol * scale)[keep]
    m = lam_min.shape[0] // 2
    return {
        "centre_lambda_min": float(lam_min[m, m]), "centre_lambda_max": float(lam_max[m, m]),
        "nonconvex_share": float(nonconvex.mean()) if nonconvex.size else 0.0,
        "mean_abs_ratio_negative": float(ratio[keep][nonconvex].mean()) if nonconvex.any()
        else 0.0,
        "points": int(nonconvex.size),
        "lambda_min": lam_min.tolist(), "lambda_max": lam_max.tolist(),
    }


def ring_mask(coords: Sequence[float], radius: float) -> np.ndarray:
    """The grid points on the square ring of half-width nearest ``radius``
    (``max(|a|, |b|)`` equal to the coordinate closest to ``radius``)."""
    c = np.asarray(coords, dtype=np.float64)
    pos = c[c > 0]
    if not len(pos):
        raise ValueError("the grid has no positive coordinate")
    r = float(pos[np.argmin(np.abs(pos - radius))])
    cheb = np.maximum(np.abs(c)[None, :], np.abs(c)[:, None])
    return np.isclose(cheb, r, rtol=1e-9, atol=1e-12)


def rise_at(z: np.ndarray, coords: Sequence[float], radius: float) -> float:
    """Mean loss on the square ring of half-width ``radius`` (:func:`ring_mask`) minus the loss
    at the trained point (the grid centre)."""
    z = np.asarray(z, dtype=np.float64)
    c = len(coords) // 2
    return float(z[ring_mask(coords, radius)].mean() - z[c, c])


def summarize(z: np.ndarray, coords: Sequence[float], radii: Sequence[float] = (0.5, 1.0)
              ) -> dict[str, Any]:
    """The figures the study reports for one surface: centre loss, min/max, the rise at each
    radius within the grid, and the curvature summary over the whole grid and over its inner
    half (``max(|a|, |b|)`` up to half the grid's half-width: ``*_inner``)."""
    z = np.asarray(z, dtype=np.float64)
    c = len(coords) // 2
    top = float(np.max(np.abs(coords)))
    curv = curvature_stats(z, coords)
    inner = curvature_stats(z, coords, within=top / 2)
    out: dict[str, Any] = {
        "centre_loss": float(z[c, c]), "min_loss": float(np.nanmin(z)),
        "max_loss": float(np.nanmax(z)),
        "rise": {f"{r:g}": rise_at(z, coords, r) for r in radii if r <= top + 1e-12},
    }
    out.update({k: v for k, v in curv.items() if k not in ("lambda_min", "lambda_max")})
    out.update({f"{k}_inner": inner[k] for k in ("nonconvex_share", "mean_abs_ratio_negative",
                                                  "points")})
    finite = np.isfinite(z).all()
    out["finite"] = bool(finite)
    if not finite:
        out["note"] = "some grid points gave a non-finite loss"
    return out
