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


VIDEO_FEATURES = ("cats", "music", "cooking", "sport")


def video_library():
    """A tiny video site for lesson 02: ``(titles, keys, minutes)``.

    ``keys[i]`` describes title i by how much it is about each of ``VIDEO_FEATURES`` (shape (8, 4));
    ``minutes[i]`` is the video's length, a value we can look up (shape (8, 1)).
    """
    titles = [
        "Cat plays the piano",
        "Kitten's first birthday",
        "Pasta in ten minutes",
        "My cat tries sushi",
        "Football: best goals",
        "Guitar for beginners",
        "Marathon training diary",
        "Drum solo in the kitchen",
    ]
    keys = np.array(
        [
            [1.0, 1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [1.0, 0.0, 0.7, 0.0],
            [0.0, 0.0, 0.0, 1.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.8],
            [0.0, 0.8, 0.5, 0.0],
        ]
    )
    minutes = np.array([[3.0], [6.0], [10.0], [4.0], [12.0], [25.0], [18.0], [5.0]])
    return titles, keys, minutes


def points_2d():
    """Five labelled keys in a plane, for moving a 2-D query around: ``(labels, keys)``, keys (5, 2)."""
    labels = ["cat video", "piano music", "cat + piano", "cooking", "sport"]
    keys = np.array([[1.5, 0.2], [0.2, 1.5], [1.1, 1.1], [-1.4, 0.5], [-0.3, -1.5]])
    return labels, keys


SARAH_WORDS = ("Sarah", "lies", "still", "on", "the", "bed", "feeling")
MEANING_FEATURES = (
    "person",
    "lying down",
    "telling lies",
    "motionless",
    "furniture",
    "place word",
    "emotion",
)
KEY_FEATURES = ("rest", "who", "where")


def sarah_sentence():
    """Hand-made embeddings of "Sarah lies still on the bed, feeling": ``(words, x)``, x of shape (7, 7).

    Row i describes word i by ``MEANING_FEATURES``. "lies" is split evenly between lying down and telling
    lies: on its own, the word cannot tell which it means.
    """
    x = np.array(
        [
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # Sarah
            [0.0, 0.7, 0.7, 0.0, 0.0, 0.0, 0.0],  # lies
            [0.0, 0.3, 0.0, 1.0, 0.0, 0.0, 0.0],  # still
            [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],  # on
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0],  # the
            [0.0, 0.5, 0.0, 0.0, 1.0, 0.2, 0.0],  # bed
            [0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],  # feeling
        ]
    )
    return list(SARAH_WORDS), x


def hand_set_projections():
    """Readable projections for the Sarah sentence: ``(w_q, w_k, w_v)``.

    w_k (7, 3) lets each word advertise ``KEY_FEATURES``: how restful it is, whether it is a who, a where.
    w_q (7, 3) says what each kind of word asks for: lying-down and lying words ask about rest, emotions ask
    who and whether at rest. w_v (7, 7) passes each word's meaning on, except that a bed or stillness also
    passes on "lying down".
    """
    w_k = np.zeros((7, 3))
    w_k[1, 0] = w_k[3, 0] = 1.0  # lying down, motionless -> rest
    w_k[4, 0] = 1.5  # furniture -> rest
    w_k[0, 1] = 1.0  # person -> who
    w_k[5, 2] = 1.0  # place word -> where
    w_q = np.zeros((7, 3))
    w_q[1, 0] = w_q[2, 0] = 2.5  # lying down / telling lies ask: is there rest around me?
    w_q[6, 0] = 2.0  # emotion asks: at rest?
    w_q[6, 1] = 2.0  # emotion asks: who?
    w_q[0, 2] = 1.0  # a person asks: where?
    w_v = np.eye(7)
    w_v[4, 1] = 0.8  # a bed passes on "lying down"
    w_v[3, 1] = 0.5  # so does stillness
    return w_q, w_k, w_v
