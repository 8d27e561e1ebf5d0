"""``make bench``: every benchmark, side by side with its competitor, reported as ratios."""

from __future__ import annotations

from bench import calibration_bench, engine_bench


def main() -> None:
    """Run all benchmark groups and print one summary table."""
    rows = engine_bench.main()
    print()
    rows += calibration_bench.main()
    print()
    print(f"{'benchmark':<48}{'ours':>12}{'competitor':>12}  ratio (x better)")
    for row in rows:
        print(
            f"{row.name:<48}{row.ours:>10.3f}{row.unit:>2}{row.theirs:>10.3f}{row.unit:>2}"
            f"  {row.ratio():.2f}"
        )


if __name__ == "__main__":
    main()
