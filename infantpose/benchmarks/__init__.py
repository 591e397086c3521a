"""Benchmarks (not tests): latency, throughput and memory, measured on this machine."""
