"""Errors that carry a message meant for the user (CLI exit code 2, HTTP 4xx, Blender report)."""

from __future__ import annotations


class MotionInputError(ValueError):
    """User-supplied motion data or arguments are wrong. The message names the file and the problem."""

    def __init__(self, message: str, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
