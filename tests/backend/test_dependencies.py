"""The base dependencies install everywhere: onnxruntime-gpu only where it has wheels, onnxruntime elsewhere."""

import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from backend.runtime.ort_sessions import CPU, SessionSet

ROOT = Path(__file__).resolve().parents[2]
RUNTIMES = {"onnxruntime", "onnxruntime-gpu"}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def _platform(sys_platform: str, machine: str) -> dict[str, str]:
    platform_system = {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[sys_platform]
    return {**default_environment(), "sys_platform": sys_platform, "platform_machine": machine,
            "platform_system": platform_system, "os_name": "nt" if sys_platform == "win32" else "posix"}


@pytest.mark.parametrize(("sys_platform", "machine", "expected"), [
    ("linux", "x86_64", "onnxruntime-gpu"),
    ("win32", "AMD64", "onnxruntime-gpu"),
    ("darwin", "arm64", "onnxruntime"),
    ("darwin", "x86_64", "onnxruntime"),
    ("linux", "aarch64", "onnxruntime"),
    ("win32", "ARM64", "onnxruntime"),
])
def test_exactly_one_onnx_runtime_per_platform(sys_platform, machine, expected):
    env = _platform(sys_platform, machine)
    chosen = [r.name for r in _requirements() if r.name in RUNTIMES and (r.marker is None or r.marker.evaluate(env))]
    assert chosen == [expected]


def test_every_other_base_dependency_is_unconditional():
    others = [r for r in _requirements() if r.name not in RUNTIMES]
    assert others and all(r.marker is None for r in others)


class _CpuOnlyOrt:
    """What the plain `onnxruntime` package (macOS, ARM) offers: the real module, without a CUDA provider."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    @staticmethod
    def get_available_providers():
        return ["AzureExecutionProvider", "CPUExecutionProvider"]


def _identity_graph(path: Path) -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_sessions_run_on_the_cpu_with_the_cpu_only_package(tmp_path, monkeypatch):
    import warnings

    import numpy as np
    import onnxruntime as ort

    from backend.runtime import ort_sessions

    graph = _identity_graph(tmp_path / "identity.onnx")
    monkeypatch.setattr(ort_sessions, "import_ort", lambda purpose: _CpuOnlyOrt(ort))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = SessionSet({"identity": graph}, ["identity"], "auto", threads=1, purpose="to test")
    assert auto.provider == CPU and np.array_equal(auto.run("identity", {"x": x}), x)
    with pytest.warns(RuntimeWarning, match="CUDA was requested"):
        cuda = SessionSet({"identity": graph}, ["identity"], "cuda", threads=1, purpose="to test")
    assert cuda.provider == CPU and np.array_equal(cuda.run("identity", {"x": x}), x)
