"""Add-on preferences, the per-scene settings the sidebar edits, and the per-armature bone map.

The bone map (preset, joint -> bone pairs, what detection found) lives on the armature data
(`bpy.types.Armature.mogents`), so each rig keeps its own map in the file and several rigs in one scene can
be keyed from one motion. Files saved when the map was a scene setting are migrated on load
(`migrate_scene_bone_maps`).
"""

from __future__ import annotations

import bpy
from bpy.app.handlers import persistent
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

# Path settings accept "//" (relative to the .blend file); Blender 4.5+ warns unless the property says so.
RELATIVE_PATH = ({"PATH_SUPPORTS_BLEND_RELATIVE"}
                 if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties else set())

def curve_only(_settings, obj) -> bool:
    """The Follow curve picker lists curve objects only."""
    return obj is not None and obj.type == "CURVE"


KEY_SOURCE_ITEMS = [
    ("KEYED", "Keyed frames", "Every frame where a mapped bone of the armature has a key, inside the scene range "
                              "(or the preview range when it is on)"),
    ("LIST", "Frame list", "Only the frames you type below"),
]

PRESET_ITEMS = [
    ("auto", "Auto-detect", "Pick the preset whose bone names match best"),
    ("smpl", "SMPL / SMPL-X", ""),
    ("mixamo", "Mixamo", "With or without the mixamorig: prefix"),
    ("rigify", "Rigify", "Metarig, or the generated rig's DEF-/FK bones"),
    ("ue", "Unreal mannequin", "UE4 and UE5 names"),
    ("cmu", "CMU BVH", ""),
    ("custom", "Custom", "The map edited below"),
]


class MOGENTS_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    connection: EnumProperty(
        description="How the add-on reaches the MoGenTS backend that makes the motions",
        name="Backend",
        default="LAUNCH",
        items=[
            ("LAUNCH", "Start it here", "Start the backend as a subprocess of Blender"),
            ("STATE_FILE", "Running (state file)", "Connect to a running `mogents serve` via its state file"),
            ("URL", "Running (URL + token)", "Connect to a running backend at a given address"),
        ],
    )
    command: StringProperty(
        name="Command",
        default="mogents serve",
        description="How to start the backend (a path to `mogents`, or `python -m backend.cli.main "
        "serve`); --port 0 and --device are appended",
    )
    url: StringProperty(
        description="Address of a running backend (mogents serve), e.g. http://127.0.0.1:8765",
        name="URL",
        default="http://127.0.0.1:8765",
    )
    token: StringProperty(
        name="Token", subtype="PASSWORD", description="Leave empty to read it from the state file or MOGENTS_TOKEN"
    )
    auto_start: BoolProperty(
        description="Start the backend by itself the first time you press Generate (otherwise press Start first)",
        name="Start with the first request",
        default=True,
    )
    device: EnumProperty(
        description="Run the model on the graphics card (CUDA) or the processor",
        name="Device",
        default="auto",
        items=[("auto", "Auto", "GPU when it works, else CPU"), ("cpu", "CPU", ""), ("cuda", "GPU (CUDA)", "")],
    )

    def draw(self, context: bpy.types.Context) -> None:
        col = self.layout.column()
        col.prop(self, "connection")
        if self.connection == "LAUNCH":
            col.prop(self, "command")
            col.prop(self, "device")
            col.prop(self, "auto_start")
        elif self.connection == "URL":
            col.prop(self, "url")
            col.prop(self, "token")


class MOGENTS_PG_variation(bpy.types.PropertyGroup):
    key: StringProperty(description="Internal key of the stored motion", options={"HIDDEN"})  # key into motion_store
    label: StringProperty(name="Name", description="This variation's name (click to rename)")
    seed: IntProperty(name="Seed", description="The seed that gives this variation again with 1 variation")
    seconds: FloatProperty(name="Seconds", description="Length of this variation in seconds")


class MOGENTS_PG_bone_pair(bpy.types.PropertyGroup):
    joint: StringProperty(
        description="Body joint of the generated skeleton (SMPL name)", name="Joint"
    )  # SMPL joint name
    bone: StringProperty(
        description="The bone of your rig that follows this joint (empty: the joint is not used)", name="Bone"
    )  # armature bone (empty: unmapped)


class MOGENTS_PG_hit(bpy.types.PropertyGroup):
    entry_id: StringProperty(description="Library id of this motion")
    label: StringProperty(description="Display name")
    caption: StringProperty(description="What the motion shows, as written in the library")
    score: FloatProperty(description="How well this motion matches the search (higher is better)")


class MOGENTS_PG_rig(bpy.types.PropertyGroup):
    """Per-armature settings, stored on the armature data: its bone map and what detection found."""

    preset: EnumProperty(
        description="Which naming scheme your rig's bones follow, so the add-on knows which bone is which joint",
        name="Bone map",
        items=PRESET_ITEMS,
        default="auto",
    )
    bone_map: CollectionProperty(
        description="This rig's joint to bone pairs, used when the preset is Custom", type=MOGENTS_PG_bone_pair
    )
    bone_map_index: IntProperty(description="Active row of the bone map")
    detected_preset: StringProperty(description="The preset the backend detected for this rig")
    map_confidence: FloatProperty(description="How sure the detection is (1 = every joint found)")
    unmapped: StringProperty(description="Bones the map leaves alone")


class MOGENTS_PG_settings(bpy.types.PropertyGroup):
    prompt: StringProperty(
        description="Describe the motion in plain words, e.g. 'a person walks forward, then waves with the right hand'",
        name="Prompt",
        default="a person walks forward and waves",
    )
    auto_length: BoolProperty(name="Auto length", default=False, description="Let the model choose the duration")
    seconds: FloatProperty(description="Length of the motion in seconds", name="Seconds", default=4.0, min=0.5, max=9.8)
    seed: IntProperty(
        description="Starting number for the randomness: the same prompt and seed give the same motion; "
        "change it for another take",
        name="Seed",
        default=0,
        min=0,
    )
    variations: IntProperty(
        description="How many different takes to make; each uses the next seed",
        name="Variations",
        default=1,
        min=1,
        max=8,
    )
    auto_strength: BoolProperty(
        name="Model's strength",
        default=True,
        description="Use the prompt strength the model recommends (its model card says which); "
        "switch off to set your own",
    )
    cfg: FloatProperty(
        name="Prompt strength",
        description="How closely the motion follows the prompt (classifier-free guidance scale, CFG)"
        "; higher is more literal but less varied",
        default=4.0,
        min=0.0,
        max=20.0,
    )
    steps: IntProperty(
        name="Steps",
        default=0,
        min=0,
        max=50,
        description="Iterative decoding steps; 0 uses the model's recommended count",
    )
    show_advanced: BoolProperty(description="Show the generation settings for experts", name="Advanced", default=False)

    root_motion: BoolProperty(
        name="Root motion", default=True, description="Move the character through space; off keeps it in place"
    )
    scale: FloatProperty(
        name="Scale", default=0.0, min=0.0, description="Root motion scale; 0 = from the leg length of the rig"
    )
    raw_output: BoolProperty(
        name="Raw model output",
        description="Key the generator's own joints. Off (default): the backend makes them animation-ready: "
                    "fixed bone lengths, planted feet, nothing under the floor, less jitter",
        default=False,
    )
    foot_cleanup: BoolProperty(
        description="Pin the feet while they touch the ground, so they do not slide",
        name="Keep planted feet",
        default=True,
    )
    start_frame: IntProperty(description="Scene frame where the new motion starts", name="Start frame", default=1)
    use_playhead: BoolProperty(
        description="Start the new motion at the current frame instead of the Start frame",
        name="At playhead",
        default=False,
    )
    push_nla: BoolProperty(
        description="When keeping, push the action down into a new NLA track (the armature's action slot is freed)",
        name="Push to NLA",
        default=False,
    )
    fit_range: BoolProperty(
        name="Fit frame range",
        default=True,
        description="Set the scene's frame range (the preview range when it is on) to the new motion's frames",
    )
    use_subframes: BoolProperty(
        name="Subframe keys",
        default=False,
        description="Key every frame of the motion at its own rate, which lands on subframes when the scene's "
        "frame rate differs (e.g. 1.0, 2.2, 3.4 for 20 fps in 24 fps). Off: one key per whole scene "
        "frame, the motion resampled to the scene's frame rate",
    )

    follow_curve: BoolProperty(
        name="Follow curve",
        default=False,
        description="Walk along the curve below: the character starts at the curve's first point and reaches its "
        "last at the end of the motion, at an even pace, turning with the curve. Length: Seconds, or with Auto "
        "length a walking pace for the curve",
    )
    control_curve: PointerProperty(
        name="Curve",
        type=bpy.types.Object,
        poll=curve_only,
        description="The curve the character walks along (a Bezier, NURBS or poly curve object; its first spline)",
    )
    fill_keys: BoolProperty(
        name="Fill between keys",
        default=False,
        description="Keep your poses at the keyed frames and let the prompt make the motion between them. The "
        "new motion runs from the first of those frames to the last; your keys there stay exactly as they are",
    )
    key_source: EnumProperty(name="Poses from", items=KEY_SOURCE_ITEMS, default="KEYED",
                             description="Which frames hold the poses to keep")
    key_frame_list: StringProperty(name="Frames", default="1, 60",
                                   description="The frames whose poses to keep, e.g. 1, 30, 60")

    results: CollectionProperty(description="The takes of the last generation", type=MOGENTS_PG_variation)
    result_index: IntProperty(description="The take shown on the armature", name="Variation", default=0)

    edit_prompt: StringProperty(
        description="What the selected bones should do instead, e.g. 'a person raises the right arm'",
        name="New prompt",
        default="a person raises the right arm",
    )
    edit_use_scene_range: BoolProperty(
        name="Use preview range",
        default=True,
        description="Edit over the preview range (or the scene range when there is none); off: the frames below",
    )
    edit_frame_start: IntProperty(name="Start", default=1, description="First frame to regenerate")
    edit_frame_end: IntProperty(name="End", default=40, description="Last frame to regenerate")
    then_prompt: StringProperty(
        description="What happens next, added at the playhead with a generated transition",
        name="Then",
        default="then the person sits down",
    )
    then_seconds: FloatProperty(
        description="Length of the added motion in seconds", name="Seconds", default=3.0, min=0.5, max=9.8
    )

    query: StringProperty(
        description="Describe the motion to find in the library", name="Search", default="a person jumps"
    )
    video_path: StringProperty(
        description="Search by a video instead of text (MP4, MOV, WebM or GIF); leave empty to search by text",
        name="Video",
        subtype="FILE_PATH",
        options=RELATIVE_PATH,
    )
    library_folder: StringProperty(
        description="A folder of motion files (BVH, .npy, .npz) to add to the library",
        name="Folder",
        subtype="DIR_PATH",
        options=RELATIVE_PATH,
    )
    top_k: IntProperty(description="How many matches to list", name="Results", default=10, min=1, max=100)
    hits: CollectionProperty(description="Matches of the last library search", type=MOGENTS_PG_hit)
    hit_index: IntProperty(description="The match chosen to apply")

    render_out: StringProperty(
        description="Folder for the rendered videos. Empty: a 'videos' folder beside the .blend file, or, while "
        "the file is not saved yet, the add-on's own user folder (the panel shows which)",
        name="Output",
        subtype="DIR_PATH",
        options=RELATIVE_PATH,
        default="",
    )
    render_engine: EnumProperty(
        description="Render engine for the videos (Workbench is the fastest and needs no graphics card)",
        name="Engine",
        default="BLENDER_WORKBENCH",
        items=[
            ("BLENDER_WORKBENCH", "Workbench", "Fast solid shading; a fraction of a second per frame on a CPU"),
            ("BLENDER_EEVEE", "EEVEE", "Lit and shaded; seconds per frame without a graphics card"),
            ("CYCLES", "Cycles", "Path traced; slow without a graphics card"),
        ],
    )
    render_resolution: IntProperty(
        description="Width and height of the videos in pixels (256 renders quickly on a CPU)",
        name="Resolution",
        default=256,
        min=64,
        max=2048,
    )
    render_camera: EnumProperty(
        description="How the camera frames the avatar",
        name="Camera",
        default="auto",
        items=[
            ("auto", "Auto", "Still, unless the motion travels far: then it follows"),
            ("fit", "Still", "One still camera that frames the whole motion"),
            ("follow", "Follow", "The camera travels with the avatar"),
        ],
    )
    render_range: EnumProperty(
        description="Which frames of the active motion to render",
        name="Frames",
        default="MOTION",
        items=[
            ("MOTION", "Whole motion", "Every frame of the motion"),
            ("SCENE", "Scene range", "The scene's frame range (the preview range when it is on)"),
            ("CUSTOM", "Custom", "The Start and End frames below (scene frames)"),
        ],
    )
    render_frame_start: IntProperty(name="Start", default=1, description="First scene frame to render")
    render_frame_end: IntProperty(name="End", default=60, description="Last scene frame to render")
    motions_folder: StringProperty(
        description="Folder of .npy / .npz motions to render", name="Motions", subtype="DIR_PATH", options=RELATIVE_PATH
    )


class MOGENTS_PG_status(bpy.types.PropertyGroup):
    """Window-manager state (not saved with the file): connection and the running task."""

    connected: BoolProperty(description="Whether the add-on is connected to a backend")
    health: StringProperty(description="What the backend reported about itself")
    busy: BoolProperty(description="A MoGenTS task is running")
    progress: FloatProperty(description="Progress of the running task", min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(description="What the running task is doing")


CLASSES = (
    MOGENTS_AP_preferences,
    MOGENTS_PG_variation,
    MOGENTS_PG_bone_pair,
    MOGENTS_PG_hit,
    MOGENTS_PG_rig,
    MOGENTS_PG_settings,
    MOGENTS_PG_status,
)


LEGACY_SCENE_KEYS = ("preset", "bone_map", "bone_map_index", "detected_preset", "map_confidence", "unmapped")


def rig_settings(obj: bpy.types.Object | None) -> MOGENTS_PG_rig | None:
    """The bone-map settings of an armature object (on its armature data), or None for anything else."""
    if obj is None or obj.type != "ARMATURE":
        return None
    return obj.data.mogents


def _legacy_pairs(raw) -> list[tuple[str, str]]:
    pairs = []
    for item in raw or ():
        item = item.to_dict() if hasattr(item, "to_dict") else dict(item)
        pairs.append((str(item.get("joint", "")), str(item.get("bone", ""))))
    return pairs


def migrate_scene_bone_map(scene: bpy.types.Scene) -> list[str]:
    """Move a bone map saved on the scene (add-on versions before the per-armature map) onto the scene's armatures.

    Every armature in the scene that has no map of its own and has every bone the old map names receives it
    (preset, pairs, detection results); the scene's old keys are removed once at least one rig took them.
    Returns the names of the armature data that received it.
    """
    settings = scene.mogents
    legacy = {key: settings.get(key) for key in LEGACY_SCENE_KEYS if settings.get(key) is not None}
    if not legacy:
        return []
    pairs = _legacy_pairs(legacy.get("bone_map"))
    preset_index = legacy.get("preset", 0)
    preset = PRESET_ITEMS[preset_index][0] if isinstance(preset_index, int) and 0 <= preset_index < len(
        PRESET_ITEMS) else "auto"
    named = {bone for _, bone in pairs if bone}
    taken = []
    for data in {obj.data for obj in scene.objects if obj.type == "ARMATURE"}:
        rig = data.mogents
        if len(rig.bone_map) or rig.preset != "auto" or not named <= set(data.bones.keys()):
            continue
        rig.preset = preset
        for joint, bone in pairs:
            pair = rig.bone_map.add()
            pair.joint, pair.bone = joint, bone
        rig.detected_preset = str(legacy.get("detected_preset", ""))
        rig.map_confidence = float(legacy.get("map_confidence", 0.0))
        rig.unmapped = str(legacy.get("unmapped", ""))
        taken.append(data.name)
    if taken:
        for key in legacy:
            del settings[key]
    return taken


def migrate_scene_bone_maps() -> None:
    for scene in bpy.data.scenes:
        migrate_scene_bone_map(scene)


@persistent
def _migrate_on_load(_filepath: str = "") -> None:
    migrate_scene_bone_maps()


def _migrate_open_file() -> None:  # a timer: the file open while the add-on is enabled
    try:
        migrate_scene_bone_maps()
    except (AttributeError, RuntimeError):  # restricted context or no data yet
        pass


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mogents = PointerProperty(type=MOGENTS_PG_settings)
    bpy.types.Armature.mogents = PointerProperty(type=MOGENTS_PG_rig)
    bpy.types.WindowManager.mogents = PointerProperty(type=MOGENTS_PG_status)
    bpy.app.handlers.load_post.append(_migrate_on_load)
    bpy.app.timers.register(_migrate_open_file, first_interval=0.0)


def unregister() -> None:
    if _migrate_on_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_migrate_on_load)
    if bpy.app.timers.is_registered(_migrate_open_file):
        bpy.app.timers.unregister(_migrate_open_file)
    del bpy.types.WindowManager.mogents
    del bpy.types.Armature.mogents
    del bpy.types.Scene.mogents
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)


def preferences(context: bpy.types.Context | None = None) -> MOGENTS_AP_preferences:
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences
