"""Benchmarks: the hub beside the raw fan-out limit and a Celery peer, one run, one machine."""
