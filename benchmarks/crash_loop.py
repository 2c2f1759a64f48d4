"""The long form of the crash-consistency harness: many SIGKILLed regenerate/commit runs, each
followed by a full consistency check, then convergence against a clean build.

    python benchmarks/crash_loop.py [--iterations 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
from movie_assets_tests.reliability.harness import check_store, clean_build, converge, crash_loop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = crash_loop(Path(tmp), args.iterations, seed=args.seed)
        root, ack = f"{tmp}/builds", f"{tmp}/acked.txt"
        store = converge(root, ack)
        problems = report.problems + check_store(root, ack)
        final, _ = store.current()
        reference = clean_build(root, {k: e.value for k, e in final.inputs.items()})
        same = {a: e.blob.hash for a, e in final.artefacts.items()} == {
            a: e.blob.hash for a, e in reference.current()[0].artefacts.items()
        }
    print(f"iterations {args.iterations}: {report.kills} killed mid-run, {report.completed_before_kill} finished first")
    print(f"revisions committed: {report.revisions}; {report.seconds:.0f}s")
    print(f"problems: {len(problems)}; converged to the clean build's blobs: {same}")
    for problem in problems[:20]:
        print("  ", problem)
    sys.exit(0 if not problems and same else 1)


if __name__ == "__main__":
    main()
