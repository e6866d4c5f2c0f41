"""Start-up time of the ``vmhost`` CLI, against the interpreter's own start in the same run.

Runs each command ``--runs`` times as a fresh process (interleaved with the reference
``python -c pass``, so load on the machine hits both alike) and prints the median wall time,
the median time beyond the reference, and the ratio to it. Nothing here talks to a server:
``vmhost --help``, ``vmhost vm-host --help`` (imports that group) and ``vmhost profiles``
(reads a throwaway profiles file).

    .venv/bin/python bench/bench_cli.py [--runs 21] [--json-out r.json]

(any interpreter with vmhost installed: ``.tox/functional/bin/python`` works too). The target
is ``vmhost --help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# The console script next to this interpreter (what operators run), else the module.
SCRIPT = shutil.which("vmhost", path=os.path.dirname(sys.executable))
VMHOST = [SCRIPT] if SCRIPT else [sys.executable, "-m", "vmhost.cli.main"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass (reference)": [sys.executable, "-c", "pass"],
    "vmhost --help": [*VMHOST, "--help"],
    "vmhost vm-host --help": [*VMHOST, "vm-host", "--help"],
    "vmhost profiles": [*VMHOST, "profiles"],
}


def run_once(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as config:
        env = {**os.environ, "VMHOST_CONFIG_DIR": config, "COLUMNS": "100"}
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for command in COMMANDS.values():  # warm the file cache once
            run_once(command, env)
        for _ in range(args.runs):
            for name, command in COMMANDS.items():
                times[name].append(run_once(command, env))
    reference = statistics.median(times["python -c pass (reference)"])
    report = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "reference_s": round(reference, 4),
        "commands": {},
    }
    print(f"{'command':<28} {'median s':>9} {'beyond ref s':>13} {'x ref':>6}")
    for name, values in times.items():
        median = statistics.median(values)
        row = {
            "median_s": round(median, 4),
            "beyond_reference_s": round(median - reference, 4),
            "ratio": round(median / reference, 2),
        }
        report["commands"][name] = row  # type: ignore[index]
        print(f"{name:<28} {median:>9.3f} {median - reference:>13.3f} {median / reference:>6.1f}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
