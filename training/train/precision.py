"""Whether bf16 autocast pays on the device at hand.

bf16 autocast is the fast path only where the hardware multiplies bf16 natively: AMX or AVX512-BF16 on x86
CPUs, and GPUs that support it. Elsewhere PyTorch emulates it: on an AMD Zen 3 core (AVX2 only) a 1024^2 bf16
matmul took 4.7 s against 58 ms in fp32, which turns an hour of training into days. A config's `bf16 = true`
therefore means "bf16 where it is native"; the loop trains in fp32 elsewhere and says so.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch

NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The x86 feature flags of /proc/cpuinfo (empty where there is none: macOS, Windows)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@functools.cache
def cpu_has_native_bf16() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False  # arm64 may have it, but PyTorch's CPU autocast there is not known to pay
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


def bf16_pays(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return device.type == "cpu" and cpu_has_native_bf16()


def resolve_bf16(requested: bool, device: torch.device) -> tuple[bool, str | None]:
    """(use bf16 autocast, a note for the log when a request is declined)."""
    if not requested or bf16_pays(device):
        return requested, None
    return False, (f"bf16 autocast asked for, but this {device.type} has no native bf16 "
                   f"({' or '.join(NATIVE_BF16_FLAGS)}): emulated it runs many times slower, so training is fp32")
