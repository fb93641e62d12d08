"""Source checkouts only: the add-on's avatar renderer is `backend/avatar`, kept once for both sides.

`mogents render videos` runs that package's worker from the installed backend, and `build_addon.py` copies
the folder into the add-on zip as `avatar/`, replacing this file. Here, in the repository, it points the
`avatar` subpackage at that folder, so `from .avatar import runner` works when the add-on is imported from
the checkout (the Blender tests, scripts). Nothing in `backend/avatar` imports the rest of `backend`.
"""

from pathlib import Path

__path__ = [str(Path(__file__).resolve().parents[2] / "backend" / "avatar")]
