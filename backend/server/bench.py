"""`mogents bench serve`: the server as users meet it, measured from outside (a command, never a test).

Starts a real `mogents serve` subprocess (its own temporary config and data folders) and measures:
- cold start: process start -> state file written (model loaded, verified, warmed up, listening), and
  process start -> first generated motion received;
- generate latency p50/p90/p99 and throughput with 1, 8, 32 ... concurrent clients (4 s motions), with the
  batches the server formed;
- retargeting a 196-frame motion onto a 60-bone rig through the API, and in-process for comparison.
Prints a table and returns the numbers (the command also writes them as JSON).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..client import Client

REPO = Path(__file__).resolve().parents[2]
PROMPTS = ("a person walks forward", "a person jumps", "a person waves with the right hand", "a person runs",
           "a person sits down", "a person kicks with the left leg", "a person turns around", "a person crouches")


def _start_server(config: Path, model: str | None, threads: int | None) -> subprocess.Popen:
    env = {**os.environ, "MOGENTS_CONFIG_DIR": str(config / "config"), "MOGENTS_HOME": str(config / "data")}
    env.pop("MOGENTS_TOKEN", None)
    args = [sys.executable, "-m", "backend.cli.main", "serve", "--port", "0", "--log-level", "warning"]
    args += ["--model", model] if model else []
    args += ["--threads", str(threads)] if threads else []
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_state(path: Path, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start in time")
        time.sleep(0.01)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {f"p{q}_ms": round(float(np.percentile(ms, q)), 1) for q in (50, 90, 95, 99)}


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc); None where that is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _soak(client: Client, pid: int, requests: int, seconds: float, steps: int | None) -> dict:
    """`requests` sequential requests (generate, health, bone maps in turn) and the server's RSS every 50: a
    leak shows as growth after the first samples."""
    samples, errors = [], 0
    for i in range(requests):
        try:
            if i % 3 == 0:
                client.generate(PROMPTS[i % len(PROMPTS)], seconds=seconds, seed=i, steps=steps)
            elif i % 3 == 1:
                client.health()
            else:
                client.bone_maps()
        except Exception:  # counted: the soak goes on
            errors += 1
        if i % 50 == 0 or i == requests - 1:
            samples.append(_rss_mb(pid))
    known = [s for s in samples if s is not None]
    return {"requests": requests, "errors": errors, "rss_mb": samples,
            "growth_after_warmup_mb": round(known[-1] - known[1], 1) if len(known) > 2 else None}


def _load(client: Client, clients: int, requests: int, seconds: float, steps: int | None) -> dict:
    """`requests` generate calls spread over `clients` threads; latency percentiles and throughput."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                client.generate(PROMPTS[i % len(PROMPTS)], seconds=seconds, seed=i, steps=steps)
            except Exception as err:  # counted and reported in the table, the run goes on
                with lock:
                    errors.append(str(err))
                continue
            with lock:
                latencies.append(time.perf_counter() - start)

    before = client.health()["batching"]
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    after = client.health()["batching"]
    return {"clients": clients, "requests": requests, "errors": len(errors), **_percentiles(latencies or [0.0]),
            "throughput_rps": round(len(latencies) / wall, 2),
            "motion_s_per_s": round(len(latencies) * seconds / wall, 2),
            "batches": after["batches"] - before["batches"],
            "mean_batch": round(len(latencies) / max(after["batches"] - before["batches"], 1), 2)}


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1000, 2)


def _armature_dict(arm) -> dict:
    """An `Armature` as the add-on would send it (rest matrices and lengths)."""
    return {"up": arm.up, "bones": [
        {"name": name, "parent": arm.names[p] if p >= 0 else None, "matrix": arm.rest[i].tolist(),
         "length": float(arm.lengths[i]), "connected": bool(arm.connected[i]) if len(arm.connected) else False}
        for i, (name, p) in enumerate(zip(arm.names, arm.parents, strict=True))]}


def _retarget(client: Client, repeats: int, frames: int = 196, bones: int = 60) -> dict:
    """Retargeting a generated walk onto the 60-bone benchmark rig: through the API and in-process."""
    from ..motion.retarget import bench as retarget_bench
    from ..motion.retarget import detect_bone_map

    arm = retarget_bench.bench_rig(bones)
    joints = retarget_bench.generated_walk(frames)
    bone_map = {"mapping": detect_bone_map(arm).mapping}  # detection is timed separately in-process
    body = _armature_dict(arm)
    api = _median_ms(lambda: client.retarget(body, {"joints": joints, "fps": 20.0}, bone_map=bone_map), repeats)
    local = retarget_bench.bench_retarget(frames, bones, repeats)
    return {"frames": frames, "bones": arm.num_bones, "api_ms": api,
            "in_process_ms": round(local["retarget_ms"], 2),
            "in_process_detect_ms": round(local["detect_bone_map_ms"], 2)}


def bench_serve(clients: list[int], requests: int = 32, seconds: float = 4.0, steps: int | None = None,
                model: str | None = None, threads: int | None = None, retarget_repeats: int = 10,
                soak: int = 0) -> dict:
    """Start a server subprocess, measure it, stop it (SIGTERM); the numbers as a dict."""
    with tempfile.TemporaryDirectory(prefix="mogents-bench-") as tmp:
        state = Path(tmp) / "config" / "server.json"
        start = time.perf_counter()
        proc = _start_server(Path(tmp), model, threads)
        try:
            _wait_for_state(state, proc)
            listening = time.perf_counter() - start
            client = Client.from_state_file(state, timeout=600)
            client.generate(PROMPTS[0], seconds=seconds, seed=0, steps=steps)
            first_motion = time.perf_counter() - start
            health = client.health()
            result = {
                "device": health["provider"], "model": health["models"][0]["name"], "seconds_per_motion": seconds,
                "steps": steps, "cold_start": {"listening_s": round(listening, 3),
                                               "first_motion_s": round(first_motion, 3)},
                "load": [_load(client, c, requests, seconds, steps) for c in clients],
                "retarget": _retarget(client, retarget_repeats),
            }
            if soak:
                result["soak"] = _soak(client, proc.pid, soak, 1.0, steps)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                result_code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                result_code = proc.wait()
        result["shutdown_exit_code"] = result_code
        return result


def format_bench(result: dict) -> str:
    cold, rt = result["cold_start"], result["retarget"]
    lines = [f"server on {result['device']} ({result['model']}), {result['seconds_per_motion']:g} s motions, "
             f"{result['steps'] or 'the model'} decoding steps",
             f"cold start: listening after {cold['listening_s']:.2f} s, "
             f"first motion after {cold['first_motion_s']:.2f} s",
             "",
             f"{'clients':>7} {'requests':>8} {'p50 ms':>8} {'p90 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} "
             f"{'motion s/s':>10} {'batches':>7} {'mean batch':>10} {'errors':>6}"]
    for row in result["load"]:
        lines.append(f"{row['clients']:>7} {row['requests']:>8} {row['p50_ms']:>8.1f} {row['p90_ms']:>8.1f} "
                     f"{row['p95_ms']:>8.1f} "
                     f"{row['p99_ms']:>8.1f} {row['throughput_rps']:>7.2f} {row['motion_s_per_s']:>10.2f} "
                     f"{row['batches']:>7} {row['mean_batch']:>10.2f} {row['errors']:>6}")
    lines += ["", f"retarget {rt['frames']} frames onto {rt['bones']} bones (median): API {rt['api_ms']:.1f} ms, "
                  f"in-process {rt['in_process_ms']:.1f} ms (+ {rt['in_process_detect_ms']:.1f} ms bone-map "
                  f"detection)"]
    if "soak" in result:
        soak = result["soak"]
        lines.append(f"soak: {soak['requests']} sequential requests, {soak['errors']} errors, server RSS (MB) "
                     f"{soak['rss_mb']}, growth after warm-up {soak['growth_after_warmup_mb']} MB")
    return "\n".join(lines)
