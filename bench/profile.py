"""Profile one albauth scenario under wrk load with py-spy (sampling, no instrumentation
overhead on the measured process); prints the top frames by self and inclusive time and
keeps the collapsed stacks (and a flame graph SVG) in bench/results/.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile.py --scenario albauth            # pass-through
    .venv/bin/python bench/profile.py --scenario auth-cookie --seconds 8
    .venv/bin/python bench/profile.py --scenario albauth --patch /tmp/candidate.diff
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench as B  # noqa: E402


def stacks(collapsed: Path) -> Iterator[tuple[list[str], int]]:
    """(frames, samples) for each line of py-spy's raw (collapsed) output."""
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            yield stack.split(";"), int(count)


def top(collapsed: Path, n: int) -> str:
    selfc: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, c in stacks(collapsed):
        total += c
        selfc[_short(frames[-1])] += c
        for f in {_short(f) for f in frames}:
            incl[f] += c
    out = [f"{total} samples", "", "self %   frame"]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in selfc.most_common(n)]
    out += ["", "incl %   frame"]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in incl.most_common(n)]
    return "\n".join(out)


def _short(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py)"; lines differ between samples
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/albauth/", "/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", choices=B.ALBAUTH_KEYS, default="albauth")
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--patch", type=Path)
    p.add_argument("--top", type=int, default=40)
    a = p.parse_args()
    args = B.parse_args(["--connections", str(a.connections)])
    pyspy = shutil.which("py-spy") or str(Path(B.PY).parent / "py-spy")
    workdir = Path(tempfile.mkdtemp(prefix="albauth-profile-"))
    procs = B.Processes(workdir)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"profile-{a.scenario}{'-' + a.patch.stem if a.patch else ''}-{stamp}"
    out_dir = B.BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    try:
        variants = [B.Variant(a.patch.stem, patch=a.patch)] if a.patch else []
        scenarios = B.setup(args, {B.BASELINE, a.scenario}, variants, workdir, procs)
        sc = next(s for s in scenarios if s.key == a.scenario and s.variant == (a.patch.stem if a.patch else ""))
        proc = next(pr for n, pr in procs.procs if n.startswith(a.scenario) and
                    n.endswith(a.patch.stem if a.patch else a.scenario))
        B.run_wrk(args, sc, 2)  # warm-up
        collapsed = out_dir / f"{name}.txt"
        spy = subprocess.Popen([pyspy, "record", "--format", "raw", "-r", str(a.rate), "-d", str(a.seconds + 1),
                                "-o", str(collapsed), "--pid", str(proc.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(0.5)
        r = B.run_wrk(args, sc, a.seconds)
        _, err = spy.communicate(timeout=a.seconds + 30)
        if spy.returncode != 0 or not collapsed.exists():
            print(err.decode(errors="replace"), file=sys.stderr)
            return 1
        print(f"{sc.label}: {r['rps']:,.0f} req/s under py-spy (sampling slows it a little)")
        print(top(collapsed, a.top))
        print(f"\ncollapsed stacks: {collapsed.relative_to(B.REPO)}")
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
