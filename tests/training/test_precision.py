"""bf16 autocast only where the hardware has it: elsewhere it is emulated and many times slower."""

from __future__ import annotations

import json

import torch

from training.train import precision
from training.train.precision import cpu_flags, resolve_bf16

ZEN3 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx avx2 fma bmi2\n"
SAPPHIRE = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


def test_cpu_flags_are_read_from_cpuinfo():
    assert "avx2" in cpu_flags(ZEN3) and "amx_bf16" not in cpu_flags(ZEN3)
    assert {"amx_bf16", "avx512_bf16"} <= cpu_flags(SAPPHIRE)
    assert cpu_flags("no flags line here") == set()


def test_bf16_is_declined_with_a_note_where_the_cpu_would_emulate_it(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    use, note = resolve_bf16(True, cpu)
    assert use is False and "fp32" in note
    assert resolve_bf16(False, cpu) == (False, None)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert resolve_bf16(True, cpu) == (True, None)


def test_the_loop_trains_in_fp32_and_records_it_where_bf16_is_not_native(monkeypatch, tmp_path, capsys):
    from torch import nn

    from training.train.loop import TrainConfig, train

    seen = []

    class Tiny:
        kind = "tiny"

        def build_model(self):
            return nn.Linear(4, 1)

        def train_dataset(self):
            return [torch.randn(4) for _ in range(16)]

        def collate(self, items):
            return torch.stack(items)

        def loss(self, model, batch, step):
            out = model(batch)
            seen.append(out.dtype)
            return {"loss": out.float().pow(2).mean()}

        def evaluate(self, model):
            return {}

        def meta(self):
            return {}

        def save(self, model, path):
            torch.save({"kind": self.kind, "model": model.state_dict()}, path)

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    cfg = TrainConfig(steps=2, batch_size=4, bf16=True, warmup=0, checkpoint_every=2, log_every=1, device="cpu")
    train(Tiny(), cfg, tmp_path, progress=False)
    assert seen and all(d == torch.float32 for d in seen)
    assert "no native bf16" in capsys.readouterr().err
    assert json.loads((tmp_path / "config.json").read_text())["bf16_used"] is False
