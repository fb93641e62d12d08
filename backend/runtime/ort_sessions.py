"""ONNX Runtime sessions for a model folder's graphs, on an execution provider chosen once.

Shared by the generator and the retrieval runtimes. CUDA is used only when onnxruntime offers it, the
device setting allows it and a session really starts on it (probed on one graph); everything else runs
on the CPU. The probe runs with ORT's logger silenced, because onnxruntime-gpu logs an error when its CUDA
libraries are missing, which is expected on a CPU machine.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import MotionInputError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")


def check_device(device: str, threads: int | None) -> None:
    if device not in DEVICES:
        raise MotionInputError(f"unknown device {device!r}: {', '.join(DEVICES)}")
    if threads is not None and threads < 1:
        raise MotionInputError(f"threads must be at least 1, got {threads}")


def import_ort(purpose: str) -> ModuleType:
    """onnxruntime, or a clear error naming what it is needed for (e.g. "to run a generator")."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise MotionInputError(f"onnxruntime is needed {purpose} (pip install onnxruntime)") from None
    return ort


class SessionSet:
    """One session per role in `roles` (those present in `files`); `run(role, feeds)` feeds what it declares."""

    def __init__(self, files: Mapping[str, Path], roles: Sequence[str], device: str, threads: int | None,
                 purpose: str, probe_role: str | None = None):
        self._ort = import_ort(purpose)
        self._files = files
        self._threads = threads
        self.sessions: dict = {}
        present = [r for r in roles if r in files]
        self.provider = self._open(present, probe_role or (present[0] if present else None), device)

    def _options(self):
        so = self._ort.SessionOptions()
        so.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        if self._threads is not None:
            so.intra_op_num_threads = int(self._threads)
        return so

    def _session(self, role: str, providers: list[str]):
        path = self._files[role]
        try:
            return self._ort.InferenceSession(str(path), self._options(), providers=providers)
        except Exception as err:  # ORT raises its own exception types for malformed graphs
            raise MotionInputError(f"onnxruntime cannot load this graph: {err}", str(path)) from None

    def _try_cuda(self, role: str):
        """A session on CUDA for `role`, or None; ORT's own logging is muted meanwhile."""
        ort = self._ort
        if CUDA not in ort.get_available_providers():
            return None
        ort.set_default_logger_severity(4)
        try:
            sess = ort.InferenceSession(str(self._files[role]), self._options(), providers=[CUDA, CPU])
        except Exception:
            return None
        finally:
            ort.set_default_logger_severity(3)
        return sess if sess.get_providers()[:1] == [CUDA] else None

    def _open(self, roles: list[str], probe_role: str | None, device: str) -> str:
        providers = [CPU]
        if device != "cpu" and probe_role is not None:
            probe = self._try_cuda(probe_role)
            if probe is not None:
                providers = [CUDA, CPU]
                self.sessions[probe_role] = probe
            elif device == "cuda":
                warnings.warn("CUDA was requested but onnxruntime cannot use it here; running on the CPU",
                              RuntimeWarning, stacklevel=4)
        for role in roles:
            if role not in self.sessions:
                self.sessions[role] = self._session(role, providers)
        self._inputs = {role: [i.name for i in s.get_inputs()] for role, s in self.sessions.items()}
        return providers[0]

    def run(self, role: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        # graphs may drop inputs that do not affect their output, so feed only what they declare
        names = self._inputs[role]
        return self.sessions[role].run(None, {n: feeds[n] for n in names})[0]
