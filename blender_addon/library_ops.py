"""Operators: search the backend's motion library by text or video, apply a hit, add a folder of BVH files."""

from __future__ import annotations

import base64
import os
import time

import bpy

from . import motion_store, session
from .client import BackendError
from .generate_ops import active_armature, apply_variation, connection, retarget_all
from .requests_body import retarget_values
from .rig import describe_armature
from .task_operator import TaskOperator, backend_reachable, has_armature, has_text, idle

MAX_VIDEO_BYTES = 48 * 1024 * 1024


class MOGENTS_OT_library_search(TaskOperator, bpy.types.Operator):
    """Search the motion library by the text (or, when a video file is set, by the video)"""

    bl_idname = "mogents.library_search"
    bl_label = "Search library"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        s = context.scene.mogents
        return (idle(cls, context) and backend_reachable(cls, context)
                and has_text(cls, s.query or s.video_path, "Type what to search for, or choose a video"))

    def prepare(self, context):
        settings = context.scene.mogents
        body = {"k": int(settings.top_k)}
        video = bpy.path.abspath(settings.video_path) if settings.video_path else ""
        if video:
            if not os.path.isfile(video):
                raise ValueError(f"no video file at {video}")
            if os.path.getsize(video) > MAX_VIDEO_BYTES:
                raise ValueError(f"{video} is larger than {MAX_VIDEO_BYTES >> 20} MB")
        else:
            query = " ".join(settings.query.split())
            if not query:
                raise ValueError("type what to search for, or choose a video")
            body["text"] = query
        conn = connection(context)

        def work(progress, cancelled):
            if video:
                with open(video, "rb") as f:
                    body["video"] = {"filename": os.path.basename(video), "data": base64.b64encode(f.read()).decode()}
            return session.client(conn).retrieve(body)

        return work

    def apply(self, context, answer):
        settings = context.scene.mogents
        settings.hits.clear()
        for hit in answer.get("hits", []):
            item = settings.hits.add()
            item.entry_id = str(hit["id"])
            item.label = str(hit.get("name", hit["id"]))
            captions = hit.get("captions") or [hit.get("caption", "")]
            item.caption = str(captions[0] if captions else "")
            item.score = float(hit.get("score", 0.0))
        settings.hit_index = 0
        self.report({"INFO"}, f"{len(settings.hits)} result(s)")


class MOGENTS_OT_library_apply(TaskOperator, bpy.types.Operator):
    """Retarget the chosen library motion onto the active armature, like a generation"""

    bl_idname = "mogents.library_apply"
    bl_label = "Apply result"

    @classmethod
    def poll(cls, context):
        if not len(context.scene.mogents.hits):
            return has_text(cls, "", "Search the library first")
        return idle(cls, context) and has_armature(cls, context) and backend_reachable(cls, context)

    def prepare(self, context):
        settings = context.scene.mogents
        if not 0 <= settings.hit_index < len(settings.hits):
            raise ValueError("search the library and pick a result first")
        hit = settings.hits[settings.hit_index]
        obj = active_armature(context)
        armature = describe_armature(obj)
        values = retarget_values(settings, obj.data.mogents, 20.0)
        conn = connection(context)
        entry_id, label = hit.entry_id, hit.caption or hit.label

        def work(progress, cancelled):
            client = session.client(conn)
            answer = client.library_motion(entry_id)
            motion = answer.get("motion", answer)
            if "features" not in motion or "joints" not in motion:
                raise BackendError("the library entry came back without joints and features")
            values["options"]["fps"] = float(motion.get("fps", 20.0))
            tracks = retarget_all(client, armature, [motion], values, progress, cancelled, lo=0.3)
            return (motion, tracks[0], label, obj.name) if tracks else None

        return work

    def apply(self, context, result):
        if result is None:
            return
        motion, track, label, armature = result
        key = motion_store.remember(motion_store.Variation(motion, track, label, armature))
        action = apply_variation(context, key, preview=False)
        self.report({"INFO"}, f"applied {action.name}")


class MOGENTS_OT_library_add_folder(TaskOperator, bpy.types.Operator):
    """Add a folder of motions (BVH, .npy, .npz or a HumanML3D-layout folder) to the backend's library"""

    bl_idname = "mogents.library_add_folder"
    bl_label = "Add folder to library"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return (idle(cls, context) and backend_reachable(cls, context)
                and has_text(cls, context.scene.mogents.library_folder, "Choose a folder of motion files first"))

    def prepare(self, context):
        folder = bpy.path.abspath(context.scene.mogents.library_folder)
        if not folder or not os.path.isdir(folder):
            raise ValueError("choose a folder of motion files first")
        conn = connection(context)

        def work(progress, cancelled):
            client = session.client(conn)
            job = client.library_add(folder)
            job_id = job.get("id") or job.get("job", {}).get("id")
            while True:
                if cancelled():
                    client.cancel_job(job_id)
                    return None
                state = client.job(job_id)
                info = state.get("progress") or {}
                progress(float(info.get("fraction", 0.0)), f"adding {info.get('step', 0)}/{info.get('total', '?')}")
                if state.get("status") in ("done", "failed", "cancelled"):
                    if state.get("status") != "done":
                        raise BackendError(state.get("error") or f"adding the folder {state.get('status')}")
                    return state.get("result") or {}
                time.sleep(0.3)

        return work

    def apply(self, context, result):
        if result is None:
            return
        failed = result.get("failed", [])
        self.report({"WARNING"} if failed else {"INFO"},
                    f"added {_count(result.get('added'))}, skipped {_count(result.get('skipped'))}, "
                    f"failed {len(failed)}")


def _count(value) -> int:
    return len(value) if isinstance(value, list) else int(value or 0)


CLASSES = (MOGENTS_OT_library_search, MOGENTS_OT_library_apply, MOGENTS_OT_library_add_folder)
