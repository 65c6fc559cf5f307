"""The client batcher's settings side by side (issue 7, case c): ``max_wait`` and ``flushers`` of
``TipBatcher``, each run by bench/money.py's batcher driver (``4 x clients`` caller threads, each tipping in a
loop), interleaved over the rounds (the order reverses every round), on one embedded cluster with the bench
database of bench/tips.py.

    .venv/bin/python bench/batcher_configs.py --configs 0.005:4,0:2,0:4 --rounds 2 --duration 8

A config is ``max_wait seconds:flushers``. Prints tips/s, p50/p99 per tip and tips per batch per run, then the
median tips/s per config.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import money
import tips

from livepanty_db.local import Cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="0.005:4,0:2,0:4", help="max_wait:flushers, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--performers", type=int, default=100)
    args = parser.parse_args(argv)
    configs = []
    for item in args.configs.split(","):
        wait, flushers = item.split(":")
        configs.append((float(wait), int(flushers)))
    home = Path(tempfile.mkdtemp(prefix="livepanty-batcher-configs-"))
    options = {**tips.SERVER_SETTINGS, **money.LOG_SETTINGS}
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in options.items()])
    cluster.start()
    results: dict[tuple[float, int], list[float]] = {}
    try:
        tips.setup_bench_database(cluster, args.viewers, args.performers)
        money.load_tips(cluster, money.WARM_UP, args.viewers, args.performers)
        for r in range(args.rounds):
            for wait, flushers in configs if r % 2 == 0 else configs[::-1]:
                money.BATCHER_MAX_WAIT = wait
                money.batcher_flushers = lambda _clients, f=flushers: f
                out, _meter = money.run_batcher(
                    cluster, args.clients, args.duration, args.viewers, args.performers
                )
                lat = out.latencies_us
                rate = out.tips / out.seconds
                print(
                    f"round {r + 1}: max_wait {wait * 1000:g} ms, {flushers} flushers: {rate:.0f} tips/s, "
                    f"p50 {lat[len(lat) // 2] / 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99)] / 1000:.1f} ms, "
                    f"{out.tips / max(out.batches, 1):.1f} tips/batch, errors {dict(out.errors) or 'none'}",
                    flush=True,
                )
                results.setdefault((wait, flushers), []).append(rate)
    finally:
        cluster.destroy()
    print("| max_wait ms | flushers | tips/s (median) | runs |")
    print("| ---: | ---: | ---: | --- |")
    for (wait, flushers), rates in results.items():
        runs = " / ".join(f"{x:.0f}" for x in rates)
        print(f"| {wait * 1000:g} | {flushers} | {statistics.median(rates):.0f} | {runs} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
