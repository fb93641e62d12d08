"""The job table and the generate batcher on their own, with the shipped generator (no HTTP)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.generate.decoding import DecodeOptions
from backend.generate.loader import load_generator
from backend.server.batching import GenerateBatcher, GenerateParams
from backend.server.jobs import Cancelled, Job, JobManager, TooManyJobs

FAST = DecodeOptions(steps=2)


@pytest.fixture(scope="module")
def generator():
    return load_generator()


def test_finished_jobs_expire_and_active_jobs_are_capped():
    manager = JobManager(workers=1, max_active=2, ttl_s=600, max_finished=3)
    try:
        for i in range(6):
            manager.run(manager.create("edit"), lambda job, i=i: {"n": i}).result(5)
        time.sleep(0.05)  # the done callbacks run right after the results
        kept = manager.list()
        assert len(kept) == 3 and [j.result["n"] for j in kept] == [3, 4, 5]
        gate = threading.Event()
        blocked = [manager.run(manager.create("edit"), lambda job: gate.wait(5)) for _ in range(2)]
        with pytest.raises(TooManyJobs):
            manager.create("edit")
        gate.set()
        for future in blocked:
            future.result(5)
        manager.ttl_s = 0.0
        time.sleep(0.05)
        assert manager.list() == []
    finally:
        manager.shutdown()


def test_progress_raises_once_cancelled_and_errors_are_reported():
    job = Job("edit")
    job.progress("decode", 1, 4)
    assert job.status == "running" and (job.stage, job.step, job.total) == ("decode", 1, 4)
    job.cancel_event.set()
    with pytest.raises(Cancelled):
        job.progress("decode", 2, 4)
    manager = JobManager(workers=1)
    try:
        failed = manager.create("edit")
        with pytest.raises(MotionInputError):
            manager.run(failed, lambda job: (_ for _ in ()).throw(MotionInputError("bad frames"))).result(5)
        time.sleep(0.05)
        assert failed.status == "failed" and failed.error == "bad frames" and failed.error_status == 400
    finally:
        manager.shutdown()


def test_batched_requests_equal_unbatched_ones(generator):
    batcher = GenerateBatcher(generator, window_s=0.5, max_rows=32)
    try:
        requests = [GenerateParams("a person walks forward", 2.0, 3, 1, FAST),
                    GenerateParams("a person jumps", 2.0, 8, 2, FAST),
                    GenerateParams("a person waves", 2.0, 3, 1, FAST),
                    GenerateParams("a person runs", None, 5, 2, FAST),      # estimated lengths: its own batch key
                    GenerateParams("a person sits", 2.0, 1, 1, DecodeOptions(steps=3))]  # other options
        jobs = [Job("generate") for _ in requests]
        futures = [batcher.submit(r, j) for r, j in zip(requests, jobs, strict=True)]
        results = [f.result(60) for f in futures]
        assert batcher.largest_batch >= 3 and batcher.batches <= 3
        for r, got in zip(requests, results, strict=True):
            want = generator.generate(r.prompt, r.seconds, r.seed, r.samples, r.options)
            assert len(got) == r.samples
            for g, w in zip(got, want, strict=True):
                assert np.array_equal(g.features, w.features) and np.array_equal(g.joints, w.joints)
        assert all(j.status == "running" and j.stage == "residual" for j in jobs)
    finally:
        batcher.close()


def test_cancelled_members_lose_only_their_own_result(generator):
    batcher = GenerateBatcher(generator, window_s=0.3)
    try:
        early = Job("generate")
        early.cancel_event.set()
        kept, dropped = Job("generate"), Job("generate")
        f_early = batcher.submit(GenerateParams("walk", 2.0, 0, 1, FAST), early)
        f_kept = batcher.submit(GenerateParams("walk", 2.0, 1, 1, FAST), kept)
        dropped.listeners.append(lambda stage, step, total: dropped.cancel_event.set())
        f_dropped = batcher.submit(GenerateParams("walk", 2.0, 2, 1, FAST), dropped)
        with pytest.raises(Cancelled):
            f_early.result(60)
        with pytest.raises(Cancelled):
            f_dropped.result(60)
        assert len(f_kept.result(60)) == 1
        alone = Job("generate")
        alone.listeners.append(lambda stage, step, total: alone.cancel_event.set())
        with pytest.raises(Cancelled):  # every member cancelled: the batch stops
            batcher.submit(GenerateParams("walk", 10.0, 0, 8, DecodeOptions(steps=100)), alone).result(60)
        assert alone.stage in ("text", "decode") and alone.step <= 1
    finally:
        batcher.close()
    closed = batcher.submit(GenerateParams("walk", 2.0, 0, 1, FAST), Job("generate"))
    with pytest.raises(Cancelled):
        closed.result(1)
