"""Shared set-up of the loaders: dataset folder, normalisation statistics, dataset kind, split IDs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.errors import MotionInputError

from .config import DatasetConfig, config_for, config_for_dim
from .layout_reader import check_root, is_mirrored_id, read_split
from .normalize import Normalizer


@dataclass(frozen=True)
class DatasetSource:
    root: Path
    split: str
    config: DatasetConfig
    normalizer: Normalizer
    ids: list[str]


def open_source(root: str | Path, split: str, config: DatasetConfig | str | None, *,
                stats_dir: str | Path | None = None, normalizer: Normalizer | None = None,
                include_mirrored: bool = True, feat_bias: float = 1.0) -> DatasetSource:
    """Check the folder, load Mean/Std (from `stats_dir` if given, else the dataset root), pick the
    dataset kind (from `config`, else from the Mean/Std size) and read the split's IDs."""
    root = check_root(root)
    stats_folder = Path(stats_dir) if stats_dir is not None else root
    if normalizer is None:
        normalizer = Normalizer.from_dir(stats_folder, feat_bias=feat_bias)
    elif feat_bias != 1.0:
        normalizer = normalizer.with_feat_bias(feat_bias)
    if isinstance(config, str):
        config = config_for(config)
    if config is None:
        config = config_for_dim(normalizer.dim)
        if config is None:
            raise MotionInputError(f"Mean.npy/Std.npy have {normalizer.dim} values; expected 263 (HumanML3D) "
                                   "or 251 (KIT-ML)", str(stats_folder))
    if normalizer.dim != config.feature_dim:
        raise MotionInputError(f"Mean.npy/Std.npy have {normalizer.dim} values but {config.name} features have "
                               f"{config.feature_dim}", str(stats_folder))
    ids = read_split(root, split)
    if not include_mirrored:
        ids = [i for i in ids if not is_mirrored_id(i)]
    return DatasetSource(root, split, config, normalizer, ids)
