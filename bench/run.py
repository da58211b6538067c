"""`make bench`: run every bench/*.py script, collect their BENCH_RESULT lines, print one table.

    python bench/run.py                 # all scripts
    python bench/run.py numbering audit_chain   # only these (names without .py)

Each script runs as `sys.executable bench/<name>.py` from the repository root, one after another (they measure
ratios against a baseline in the same run, so running them side by side would only add noise). A script that
fails or prints no BENCH_RESULT shows as a failed row, and the exit status is non-zero. The table (Markdown)
goes to stdout and to var/bench/latest.md; each script's full output to var/bench/<name>.log.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_env, parse_results

BENCH = ROOT / "bench"
OUT = ROOT / "var" / "bench"
# Modules that are helpers or settings, not benchmarks.
NOT_SCRIPTS = {"common", "run", "__init__"}
TIMEOUT = int(os.environ.get("BENCH_TIMEOUT", "3600"))


def scripts(wanted: list[str]) -> list[Path]:
    found = sorted(
        p for p in BENCH.glob("*.py")
        if p.stem not in NOT_SCRIPTS and not p.stem.endswith(("_settings", "_urls"))
    )
    if wanted:
        found = [p for p in found if p.stem in wanted]
        missing = set(wanted) - {p.stem for p in found}
        if missing:
            raise SystemExit(f"no such bench script: {', '.join(sorted(missing))}")
    return found


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def table(rows: list[dict]) -> str:
    lines = ["| script | measure | ours | baseline | unit | ratio | goal | met |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = {True: "yes", False: "**no**"}.get(r.get("met"), "—")
        lines.append(
            f"| {r['script']} | {r.get('measure', '')} | {fmt(r.get('ours', '—'))} | {fmt(r.get('baseline', '—'))} "
            f"| {r.get('unit', '')} | {fmt(r.get('ratio', '—'))} | {r.get('goal', '')} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = bench_env()
    rows: list[dict] = []
    failed = False
    for script in scripts(argv):
        print(f"== {script.name}", flush=True)
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
            output, code, results = stdout + stderr, proc.returncode, parse_results(stdout)
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: the script's temp_database still drops its databases
            stdout, stderr = proc.communicate()
            output, code, results = f"{stdout}\n{stderr}\ntimeout after {TIMEOUT}s", -1, []
        (OUT / f"{script.stem}.log").write_text(output if isinstance(output, str) else str(output))
        print(f"   {time.monotonic() - start:.0f} s, exit {code}, {len(results)} result(s)", flush=True)
        if code != 0 or not results:
            failed = True
            tail = " / ".join(str(output).strip().splitlines()[-2:])[:200]
            rows.append({"script": script.stem, "measure": f"FAILED (exit {code}): {tail}", "met": False})
        rows.extend({"script": script.stem, **r} for r in results)
    text = table(rows)
    header = (f"`make bench` — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPU, "
              f"python {sys.version.split()[0]}\n\n")
    (OUT / "latest.md").write_text(header + text + "\n")
    print()
    print(header + text)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
