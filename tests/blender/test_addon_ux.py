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
    FakeBackend,
    addon_module,
    fresh_scene,
    install_addon,
    metarig,
    uninstall_addon,
    use_fake_backend,
)

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    install_addon(tmp_path_factory.mktemp("addon"))
    backend = FakeBackend()
    restore = use_fake_backend(backend)
    yield backend
    restore()
    uninstall_addon()


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
