"""Dataset loaders for HumanML3D-layout folders (HumanML3D, KIT-ML, the procedural corpus)."""

from .collate import collate, trim_to_longest
from .config import HUMANML3D, KIT_ML, DatasetConfig, config_for, config_for_dim
from .entries import FilterReport, MotionEntry, build_entries
from .layout_reader import CaptionItem, is_mirrored_id, read_split
from .normalize import Normalizer
from .sampling import crop_length, resolve_seed
from .text_motion import TextMotionDataset
from .windows import MotionWindowDataset

__all__ = [
    "HUMANML3D", "KIT_ML", "CaptionItem", "DatasetConfig", "FilterReport", "MotionEntry", "MotionWindowDataset",
    "Normalizer", "TextMotionDataset", "build_entries", "collate", "config_for", "config_for_dim",
    "crop_length", "is_mirrored_id", "read_split", "resolve_seed", "trim_to_longest",
]
