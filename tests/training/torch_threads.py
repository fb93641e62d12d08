"""A context that runs torch on one thread, shared by the training and export tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny models run far faster on one thread, above all on a machine busy with other jobs, and their
    results then do not depend on the thread count another test left set."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
