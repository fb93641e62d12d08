"""Seeded randomness for datasets and the crop-length rule of the reference loaders.

Every random draw of an item comes from a generator seeded by (dataset seed, epoch, item index, visit
number), so results do not depend on global RNG state, on DataLoader worker counts or on the order in
which other items are read.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def resolve_seed(seed: int | np.random.Generator | None) -> int:
    """A non-negative integer seed from an int, a numpy Generator (one draw) or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if int(seed) < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


class ItemRandomness:
    """Hands out per-item generators. `set_epoch` changes all draws; so does reading an item again
    in the same process (its visit counter goes up), which keeps single-process and persistent-worker
    loading reproducible without `set_epoch`."""

    def __init__(self, seed: int | np.random.Generator | None):
        self.seed = resolve_seed(seed)
        self.epoch = 0
        self._visits: defaultdict[int, int] = defaultdict(int)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._visits.clear()

    def generator(self, index: int) -> np.random.Generator:
        visit = self._visits[index]
        self._visits[index] = visit + 1
        return np.random.default_rng([self.seed, self.epoch, int(index), visit])


def crop_length(length: int, unit_length: int, max_length: int, rng: np.random.Generator | None = None) -> int:
    """Length after cropping to a multiple of `unit_length` (at most `max_length`).

    With a generator, one time in three one more unit is dropped (the reference loaders' 'double'
    coin, used only when unit_length < 10), as augmentation; never below one unit.
    """
    units = min(length, max_length) // unit_length
    if rng is not None and unit_length < 10 and units > 1 and rng.integers(3) == 2:
        units -= 1
    return units * unit_length
