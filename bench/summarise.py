"""Print the Placement comparison table from bench/results/*.json (Markdown)."""

from __future__ import annotations

import json
import pathlib
import sys


def main() -> None:
    """One row per configuration and implementation."""
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
    print(
        "| config | impl | placements/s | x Placement | limit=1 median ms | x faster "
        "| all candidates ms | after fill limit=1 ms | % of raw claim |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text())
        if "results" not in data:  # another benchmark's output
            continue
        base = None
        raw = {  # the raw durable-claim limit of each database, same run (bench/raw_claims.py)
            r["impl"].rsplit("-", 1)[-1]: r["summary"].get("claim_placements_per_s") or 0
            for r in data["results"]
            if r["impl"].startswith("raw-claim-")
        }
        for result in data["results"]:
            s = result["summary"]
            if base is None:  # Placement, when it ran (not with ONLY=sqlite)
                base = s if result["impl"] == "placement" else {}
            limit = raw.get(result["impl"].rsplit("-", 1)[-1]) if "vmhost" in result["impl"] else 0
            pps = s.get("claim_placements_per_s") or 0
            lim = s.get("limit1_median_ms") or 0
            after = s.get("limit1_after_fill_median_ms", "")
            print(
                f"| {path.stem} | {result['impl']} | {pps:.1f} "
                f"| {pps / base['claim_placements_per_s'] if base else 0:.1f} "
                f"| {lim:.3f} | {base['limit1_median_ms'] / lim if base and lim else 0:.1f} "
                f"| {s.get('nolimit_median_ms', 0):.2f} | {after} "
                f"| {f'{100 * pps / limit:.1f} %' if limit else ''} |"
            )


if __name__ == "__main__":
    main()
