"""Where the backend keeps per-user files: configuration (token, server state) and data (library).

Environment overrides come first so tests and portable installs can redirect everything:
`MOGENTS_CONFIG_DIR` / `MOGENTS_HOME`, then the XDG variables, then the usual dot-folders.
"""

from __future__ import annotations

import os
from pathlib import Path


def config_home() -> Path:
    """Folder for the token and the running server's state file (created with 0700 permissions)."""
    explicit = os.environ.get("MOGENTS_CONFIG_DIR")
    if explicit:
        return _private_dir(Path(explicit))
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return _private_dir(Path(base) / "mogents")


def data_home() -> Path:
    """Folder for user data such as the motion library."""
    explicit = os.environ.get("MOGENTS_HOME")
    if explicit:
        return _private_dir(Path(explicit))
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return _private_dir(Path(base) / "mogents")


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
