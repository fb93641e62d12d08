"""Per-dataset constants of the text-to-motion loaders (HumanML3D and KIT-ML conventions)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class DatasetConfig:
    """What a loader needs to know about a dataset besides its folder.

    Lengths are in feature frames (rows of `new_joint_vecs/ID.npy`). A clip or caption window is kept
    when `min_frames <= frames < max_frames`; items are cropped to a multiple of `unit_length` and to
    at most `max_motion_length` frames, then padded to `max_motion_length`.
    """

    name: str
    feature_dim: int
    fps: float
    min_frames: int
    max_frames: int = 200
    unit_length: int = 4
    max_motion_length: int = 196

    def with_options(self, **changes) -> DatasetConfig:
        """A copy with some fields changed (e.g. `min_frames=20`)."""
        return replace(self, **changes)


HUMANML3D = DatasetConfig(name="humanml3d", feature_dim=263, fps=20.0, min_frames=40)
KIT_ML = DatasetConfig(name="kit", feature_dim=251, fps=12.5, min_frames=24)

_BY_NAME = {"humanml3d": HUMANML3D, "humanml": HUMANML3D, "t2m": HUMANML3D, "kit": KIT_ML, "kit-ml": KIT_ML,
            "kitml": KIT_ML}


def config_for(name: str) -> DatasetConfig:
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise KeyError(f"unknown dataset kind {name!r}; choose one of {sorted(_BY_NAME)}") from None


def config_for_dim(dim: int) -> DatasetConfig | None:
    """The preset whose features have `dim` dimensions (263 -> HumanML3D, 251 -> KIT-ML), else None."""
    for cfg in (HUMANML3D, KIT_ML):
        if cfg.feature_dim == dim:
            return cfg
    return None
