#!/usr/bin/env python3
"""The closing table of `make bench`: every row the benchmark scripts reported (through
common.report, into the file BENCH_ROWS names), each beside the raw worker variant it is
measured against, its goal, and, where it falls short, the measured reason; then the first-run
figures that bench/firstrun.sh last measured (bench/firstrun.json: a fresh clone takes ~25
minutes of both cores, too long to run inside `make bench`).
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def met(ratio, goal, ours, theirs):
    """Whether a row meets its goal ("" when the goal is not a bound)."""
    try:
        if goal.startswith(">="):
            return "met" if ratio is not None and ratio >= float(goal.split()[1]) else "short"
        if goal.startswith("<= raw +"):
            return "met" if ours - theirs <= float(goal.split()[3]) else "short"
    except (ValueError, IndexError):
        pass
    return ""


def main():
    path = os.environ.get("BENCH_ROWS") or (sys.argv[1] if len(sys.argv) > 1 else None)
    rows = [json.loads(l) for l in open(path)] if path and os.path.exists(path) else []
    print()
    print("=" * 100)
    print("make bench: every figure beside its baseline (one run of each script, same wrangler/workerd, local R2)")
    print(f"{'figure':62}{'edgeshare':>12}{'baseline':>12}{'ratio':>7}  {'goal':16}")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        verdict = met(r["ratio"], r["goal"], r["ours"], r["theirs"])
        print(f"{r['figure']:62}{r['ours']:9.1f} {r['unit']:>2}{r['theirs']:9.1f} {r['unit']:>2}{ratio:>7}  {r['goal']:16}{verdict}")
        print(f"{'':4}baseline: {r['baseline']}")
        if r.get("why"):
            print(f"{'':4}note: {r['why']}")
    first = os.path.join(HERE, "firstrun.json")
    if os.path.exists(first):
        f = json.load(open(first))
        print(f"first run on a fresh clone, nothing installed but the system (bench/firstrun.sh, {f['date']}, {f['commit']}, "
              f"{f['cores']} cores):")
        print(f"{'':4}`make dev` first run: {f['dev_s'] / 60:.1f} min (goal <= 6)   "
              f"`make test`: {f['test_s'] / 60:.1f} min (goal <= 12)")
        print(f"{'':4}phases: set-up {f['setup_s']:.0f} s, wasm build {f['build_s']:.0f} s, server ready {f['serve_s']:.0f} s, "
              f"tests {f['tests_s']:.0f} s")
    else:
        print("first run: not measured yet (bench/firstrun.sh)")


if __name__ == "__main__":
    main()
