"""Avatar videos of motion datasets: find clips, shard them, and drive the Blender render worker.

The rendering itself runs in Blender (`backend/avatar`, bpy only); this package runs in the backend's
environment, converts what Blender cannot (HumanML3D features to joints) and follows the worker's progress.
"""
