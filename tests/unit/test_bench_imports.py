"""The benchmarks import what they use from the product and the test support."""

from __future__ import annotations

import importlib

import pytest

BENCH_MODULES = [
    "bench.orders",
    "bench.limits",
    "bench.customers",
    "bench.soak",
    "bench.store",
    "bench.echo",
    "bench.echo_bot",
    "bench.calendar_feed",
    "bench.profiling",
    "bench.procstat",
    "bench.remote_sandbox",
]


@pytest.mark.parametrize("name", BENCH_MODULES)
def test_each_benchmark_module_imports(name: str) -> None:
    importlib.import_module(name)
