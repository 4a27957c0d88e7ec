"""The fan-out benchmark's polling (bench/progress.py `next_poll`): whatever the looks so far
saw, the next look comes within bounds (a look late by x seconds adds x to the measured run;
one that raised ended a recorded run: two workers' first look had already seen progress)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.progress import next_poll

counts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=30).map(sorted)
gaps = st.lists(st.floats(min_value=0, max_value=2), min_size=30, max_size=30)


@given(counts, gaps)
def test_the_next_look_is_never_far_and_never_fails(seen: list[int], steps: list[float]) -> None:
    times, t = [], 0.0
    for step in steps[:len(seen)]:
        t += step
        times.append(t)
    wait = next_poll(list(zip(times, seen, strict=True)), 10_000)
    assert 0.02 <= wait <= 0.25


def test_the_wait_follows_the_latest_rate_not_the_start() -> None:
    # 500 in the first 0.2 s (the event being recorded), then 2,500 in 0.25 s: 7,000 left at
    # 10,000/s is 0.7 s, a quarter of which is 0.175 s (the rate since the start foretold 3 s).
    assert abs(next_poll([(0.0, 0), (0.2, 500), (0.45, 3000)], 10_000) - 0.175) < 1e-9
    assert next_poll([(0.0, 0), (0.2, 500)], 10_000) == 0.25  # capped
    assert next_poll([(0.0, 0), (1.0, 9_990)], 10_000) == 0.02  # the end is near: often
    assert next_poll([(0.0, 800)], 10_000) == 0.05  # no rate yet: soon
