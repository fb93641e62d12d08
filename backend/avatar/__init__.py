"""Headless avatar video renderer: animate a procedural avatar with SMPL-22 joint positions, render RGB frames.

Runs inside Blender's Python (bpy, numpy and the standard library only; nothing from the rest of `backend`),
either in a background Blender started by the add-on's render operator or by `mogents render videos`
(see `worker.py` for the command line and the progress protocol). It is kept once, here: the wheel installs it
with the backend, and `build_addon.py` copies this folder into the add-on zip as `avatar/` (a test checks that
the copy equals this source), since the add-on cannot import `backend`.

Modules: `smpl` (skeleton constants, checks, axes), `shapes` (mesh primitives), `avatars` (the avatar
designs and how one is built), `motion_rig` (one keyed object per body segment), `scene` (camera, light,
floor, world, engine), `render` (one motion to MP4, a frame folder or sampled frames), `worker` (a list of
clips), `runner` (start the worker as a subprocess and follow its progress), `outputs` (partial-output
naming) and `sampling` (which frames sampled-frame mode renders); the last three use the standard library only.

Importing the package imports nothing else, so `runner` loads without bpy.
"""
