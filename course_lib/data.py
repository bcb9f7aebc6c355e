"""Small data sets the lessons use. Deterministic: the same seed always gives the same data."""

from __future__ import annotations

import numpy as np


def noisy_series(n_points: int = 120, noise: float = 0.35, seed: int = 0):
    """A slow signal measured once a minute with noise.

    Returns ``(times, clean, noisy)``, three float arrays of shape (n_points,): the minute of each
    reading, the signal without noise (which a real sensor never shows us), and the readings.
    """
    rng = np.random.default_rng(seed)
    times = np.arange(n_points, dtype=float)
    clean = np.sin(times / 9.0) + 0.5 * np.sin(times / 23.0 + 1.0)
    return times, clean, clean + rng.normal(scale=noise, size=n_points)


def step_series(n_points: int = 80, noise: float = 0.15, seed: int = 1):
    """A signal that jumps from 0 to 1 halfway, with noise: ``(times, clean, noisy)``."""
    rng = np.random.default_rng(seed)
    times = np.arange(n_points, dtype=float)
    clean = (times >= n_points // 2).astype(float)
    return times, clean, clean + rng.normal(scale=noise, size=n_points)
