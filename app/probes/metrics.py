"""Probe metrics: counts and latency only, never a prompt, a target or a completion."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RUNS = Counter("rr_probe_runs_total", "Probe runs ended, by moment and outcome",
               ["moment", "outcome"])
SAMPLES = Counter("rr_probe_samples_total", "Probe samples sent, by result", ["result"])
LATENCY = Histogram("rr_probe_sample_seconds", "Time to get one probe sample (with retries)",
                    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
