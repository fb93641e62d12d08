"""Which frames of a clip the sampled-frame mode renders (standard library only).

LAVIMO's video encoder sees 8 frames per clip. The n frames out of T are the centres of n equal segments:
index_i = floor((i + 1/2) * T / n), i = 0..n-1 (0-based; frames repeat when T < n). The backend's video
reader (`backend/retrieve/video_input.py`) samples query videos by the same rule; a test compares the two.
"""

from __future__ import annotations


def sample_indices(count: int, n: int) -> list[int]:
    """0-based frame indices of `n` samples out of `count` frames."""
    if count < 1 or n < 1:
        raise ValueError(f"need at least one frame and one sample, got {count} frames and {n} samples")
    return [((2 * i + 1) * count) // (2 * n) for i in range(n)]
