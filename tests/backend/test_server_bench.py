"""`mogents bench serve` on a real server subprocess: latency percentiles and the RSS soak."""

import sys

import pytest

pytest.importorskip("onnxruntime")

from backend.server.bench import bench_serve, format_bench  # noqa: E402


def test_bench_serve_reports_p95_and_a_soak_with_server_rss():
    result = bench_serve([1], requests=2, seconds=1.0, steps=1, threads=1, retarget_repeats=1, soak=3)
    row = result["load"][0]
    assert row["errors"] == 0 and row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    soak = result["soak"]
    assert soak["requests"] == 3 and soak["errors"] == 0 and len(soak["rss_mb"]) == 2
    if sys.platform.startswith("linux"):
        assert all(r > 50 for r in soak["rss_mb"])  # the server's own memory, model loaded
    assert result["shutdown_exit_code"] == 0
    text = format_bench(result)
    assert "p95 ms" in text and "soak: 3 sequential requests" in text


def test_bench_generate_times_several_models_side_by_side(tmp_path, capsys):
    import json

    from backend.cli.main import main
    from backend.generate.loader import DEFAULT_MODEL

    out = tmp_path / "rows.json"
    assert main(["bench", "generate", "--model", str(DEFAULT_MODEL), "--model", str(DEFAULT_MODEL), "--batch", "1",
                 "--frames", "40", "--repeats", "1", "--steps", "1", "--threads", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 2 and all(r["batch"] == 1 for r in rows.values())
