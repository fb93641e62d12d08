"""The add-on behaves like a Blender tool (issue 17 §2), on real bpy with a fake in-process backend.

Disabled buttons say why (poll messages); keys land on whole scene frames; the scene range follows the new
motion; start frame and edit range come from the panels; variations carry their own seeds, can be renamed
and cleared; every property has a tooltip; bone maps live on the armature; Progress and Cancel run in the
modal operator's own timer loop.
"""

import threading

import pytest

bpy = pytest.importorskip("bpy")

from tests.blender.addon_harness import (  # noqa: E402
    ADDON,
    addon_module,
    fresh_scene,
    metarig,
)

pytestmark = pytest.mark.blender


def _rig(fps: int = 20) -> bpy.types.Object:
    fresh_scene(fps)
    obj = metarig()
    bpy.context.view_layer.objects.active = obj
    return obj


def _operator_classes():
    package = __import__(ADDON, fromlist=["_CLASSES"])
    return [cls for cls in package._CLASSES if issubclass(cls, bpy.types.Operator)]


def test_every_operator_has_a_poll(fake):
    classes = _operator_classes()
    assert len(classes) >= 15
    assert [cls.bl_idname for cls in classes if "poll" not in vars(cls)] == []


def test_disabled_buttons_say_why(fake):
    fresh_scene()
    with pytest.raises(RuntimeError, match="Select the armature to animate"):
        bpy.ops.mogents.generate()
    obj = metarig()
    bpy.context.view_layer.objects.active = obj
    settings = bpy.context.scene.mogents
    settings.prompt = "   "
    assert not bpy.ops.mogents.generate.poll()
    with pytest.raises(RuntimeError, match="Type a prompt first"):
        bpy.ops.mogents.generate()
    settings.prompt = "a person walks"
    with pytest.raises(RuntimeError, match="no MoGenTS motion"):
        bpy.ops.mogents.edit_selection()
    with pytest.raises(RuntimeError, match="Nothing is running"):
        bpy.ops.mogents.cancel()
    with pytest.raises(RuntimeError, match="no variations"):
        bpy.ops.mogents.preview_variation()
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.auto_start = False
    try:
        with pytest.raises(RuntimeError, match="not running: press Start"):
            bpy.ops.mogents.generate()
    finally:
        prefs.auto_start = True
    assert bpy.ops.mogents.generate.poll()


def test_a_running_task_disables_the_other_buttons_and_enables_cancel(fake):
    _rig()
    tasks = addon_module("tasks")
    release = threading.Event()
    task = tasks.start("Generate", lambda progress, cancelled: release.wait(5))
    try:
        assert bpy.ops.mogents.cancel.poll()
        for op in (bpy.ops.mogents.generate, bpy.ops.mogents.backend_start, bpy.ops.mogents.render_videos):
            with pytest.raises(RuntimeError, match="'Generate' is running: wait for it or press Cancel"):
                op()
    finally:
        release.set()
        task.join(5)
        tasks.finish(task)
    assert bpy.ops.mogents.generate.poll()


def _key_frames(action, path):
    from tests.blender.addon_harness import fcurve

    return [k.co[0] for k in fcurve(action, path, 0).keyframe_points]


def test_keys_land_on_whole_frames_at_the_scenes_rate_unless_subframes_are_asked_for(fake):
    obj = _rig(fps=24)  # a 3 s, 20 fps motion: 60 frames over scene frames 1.0 .. 71.8
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    action = obj.animation_data.action
    frames = _key_frames(action, 'pose.bones["thigh.L"].rotation_quaternion')
    assert frames == [float(f) for f in range(1, 72)]
    store = addon_module("motion_store")
    variation = store.get(bpy.context.scene.mogents.results[0].key)
    want = variation.retarget["rotations"]["thigh.L"][10]  # motion frame 10 = scene frame 1 + 10 * 1.2 = 13
    bpy.context.scene.frame_set(13)
    got = obj.pose.bones["thigh.L"].rotation_quaternion
    assert abs(sum(a * b for a, b in zip(got, want, strict=True))) > 1 - 1e-5
    bpy.context.scene.mogents.use_subframes = True
    assert bpy.ops.mogents.preview_variation(index=0) == {"FINISHED"}
    frames = _key_frames(obj.animation_data.action, 'pose.bones["thigh.L"].rotation_quaternion')
    assert len(frames) == 60 and abs(frames[1] - 2.2) < 1e-5


def test_start_frame_and_fitting_the_scene_range(fake):
    obj = _rig()
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 250
    scene.mogents.start_frame = 101
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    frames = _key_frames(obj.animation_data.action, 'pose.bones["spine"].location')
    assert frames[0] == 101 and frames[-1] == 160
    assert (scene.frame_start, scene.frame_end) == (101, 160)
    scene.use_preview_range, scene.frame_preview_start, scene.frame_preview_end = True, 1, 10
    scene.mogents.use_playhead = True
    scene.frame_set(30)
    assert bpy.ops.mogents.preview_variation(index=0) == {"FINISHED"}
    assert (scene.frame_preview_start, scene.frame_preview_end) == (30, 89)
    assert (scene.frame_start, scene.frame_end) == (101, 160)
    scene.mogents.fit_range = False
    scene.frame_set(1)
    assert bpy.ops.mogents.preview_variation(index=0) == {"FINISHED"}
    assert (scene.frame_preview_start, scene.frame_preview_end) == (30, 89)


def test_the_edit_panels_own_frame_range(fake):
    obj = _rig()
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    settings = bpy.context.scene.mogents
    settings.edit_use_scene_range = False
    settings.edit_frame_start, settings.edit_frame_end = 25, 30
    bpy.ops.object.mode_set(mode="POSE")
    from tests.blender.armature_builder import select_pose_bones

    select_pose_bones(obj, ["forearm.L"])
    assert bpy.ops.mogents.edit_selection() == {"FINISHED"}
    edit = [body for kind, body in fake.calls if kind == "edit"][-1]
    assert edit["frames"] == [24, 30]  # motion frames 24..29 = scene frames 25..30
    settings.edit_frame_start, settings.edit_frame_end = 30, 25
    with pytest.raises(RuntimeError, match="ends .* before it starts"):
        bpy.ops.mogents.edit_selection()
    bpy.ops.object.mode_set(mode="OBJECT")


def test_variations_carry_their_own_seeds_can_be_renamed_and_cleared(fake):
    obj = _rig()
    settings = bpy.context.scene.mogents
    settings.variations, settings.seed = 3, 5
    fake.calls.clear()
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    assert [item.label for item in settings.results] == ["1: seed 5", "2: seed 6", "3: seed 7"]
    assert [item.seed for item in settings.results] == [5, 6, 7]
    assert [body["seed"] for kind, body in fake.calls if kind == "generate"] == [5, 6, 7]
    assert bpy.ops.mogents.preview_variation(index=2) == {"FINISHED"}
    third = obj.animation_data.action
    meta_seed = __import__("json").loads(third["mogents"])["seed"]
    assert meta_seed == 7
    # the seed alone gives that variation again
    store = addon_module("motion_store")
    joints_third = store.get(settings.results[2].key).motion["joints"]
    settings.variations, settings.seed = 1, 7
    settings.results[1].label = "the good one"
    assert settings.results[1].label == "the good one"
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    assert store.get(settings.results[0].key).motion["joints"] == joints_third
    assert bpy.ops.mogents.clear_variations() == {"FINISHED"}
    assert len(settings.results) == 0
    with pytest.raises(RuntimeError, match="already empty"):
        bpy.ops.mogents.clear_variations()
    assert obj.animation_data.action is not None  # clearing the list leaves the armature's motion alone


def test_every_property_has_a_tooltip_in_animators_words(fake):
    properties = addon_module("properties")
    missing = []
    for cls in properties.CLASSES:
        for prop in cls.bl_rna.properties:
            if prop.identifier in ("rna_type", "name", "bl_idname") or prop.identifier.startswith("bl_"):
                continue
            if not prop.description.strip():
                missing.append(f"{cls.__name__}.{prop.identifier}")
    assert missing == []
    cfg = properties.MOGENTS_PG_settings.bl_rna.properties["cfg"]
    assert cfg.name == "Prompt strength" and "CFG" in cfg.description


def test_long_unmapped_lists_wrap_instead_of_being_cut(fake):
    panels = addon_module("panels")
    text = ", ".join(f"f_finger.{i:03d}.L" for i in range(40))

    class Region:
        width = 280

    class Context:
        region = Region()

    lines = panels.wrap_lines(text, Context(), max_lines=50)
    assert " ".join(lines) == text and all(len(line) <= 40 for line in lines)
    assert panels.wrap_lines(text, Context(), max_lines=3)[-1] == "... (40 in all)"


class _Event:
    def __init__(self, kind):
        self.type = kind


def _probe(prepare, apply=None, label="Generate"):
    """A TaskOperator driven by hand: the modal loop of the add-on's operators, minus Blender's window."""
    task_operator = addon_module("task_operator")

    class Probe(task_operator.TaskOperator):
        bl_label = label

        def __init__(self):
            self.reports = []

        def report(self, kind, message):
            self.reports.append((set(kind), message))

    Probe.prepare = prepare
    Probe.apply = apply or (lambda self, context, result: self.reports.append(({"APPLIED"}, result)))
    probe = Probe()
    tasks = addon_module("tasks")
    probe._task = tasks.start(label, probe.prepare(bpy.context))
    probe._timer = bpy.context.window_manager.event_timer_add(0.1, window=None)
    return probe


def test_the_modal_loop_shows_progress_and_applies_on_the_main_thread(fake):
    _rig()
    halfway, release = threading.Event(), threading.Event()

    def prepare(self, context):
        def work(progress, cancelled):
            progress(0.5, "decode 5/10")
            halfway.set()
            release.wait(5)
            return "motion"
        return work

    probe = _probe(prepare)
    st = bpy.context.window_manager.mogents
    halfway.wait(5)
    assert probe.modal(bpy.context, _Event("MOUSEMOVE")) == {"PASS_THROUGH"}
    assert probe.modal(bpy.context, _Event("TIMER")) == {"PASS_THROUGH"}
    assert st.progress == pytest.approx(0.5) and st.message == "decode 5/10"
    assert probe.reports == []
    release.set()
    probe._task.join(5)
    assert probe.modal(bpy.context, _Event("TIMER")) == {"FINISHED"}
    assert probe.reports == [({"APPLIED"}, "motion")] and st.message == "Generate: done" and not st.busy
    assert addon_module("tasks").current() is None


def test_esc_in_the_modal_loop_cancels_and_changes_nothing(fake):
    _rig()
    started = threading.Event()

    def prepare(self, context):
        def work(progress, cancelled):
            started.set()
            while not cancelled():
                threading.Event().wait(0.01)
            return "partial"
        return work

    probe = _probe(prepare)
    started.wait(5)
    assert probe.modal(bpy.context, _Event("ESC")) == {"PASS_THROUGH"}
    probe._task.join(5)
    assert probe.modal(bpy.context, _Event("TIMER")) == {"CANCELLED"}
    assert probe.reports == [({"INFO"}, "Generate cancelled; nothing changed")]
    assert bpy.context.window_manager.mogents.message == "Generate: cancelled"
    assert addon_module("tasks").current() is None and bpy.ops.mogents.generate.poll()


def test_a_real_generation_through_the_modal_loop(fake):
    obj = _rig()
    generate = addon_module("generate_ops").MOGENTS_OT_generate
    probe = _probe(generate.prepare, generate.apply)
    probe._task.join(10)
    assert probe.modal(bpy.context, _Event("TIMER")) == {"FINISHED"}
    assert obj.animation_data.action is not None and obj.animation_data.action.get("mogents_preview")
    assert probe.reports and "variation" in probe.reports[-1][1]
