"""Planning time against the number of past revisions, with checkpoints (every 10 revisions) and
without (the reuse index then replays every archived artefact event).

    python benchmarks/bench_history.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, synthetic_blueprint, table, timed  # noqa: E402
from bench_runner import noop  # noqa: E402

from movie_assets.lifecycle.checkpoints import Checkpoints
from movie_assets.movie import MovieStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

SEGMENTS = 50


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    marks = [10] if args.smoke else [10, 50, 100] if args.quick else [10, 100, 300, 600]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        storage = StorageContext(StorageConfig.from_url(tmp))
        store = MovieStore(storage, "long")
        store.init(synthetic_blueprint(), {"NumOfSegments": SEGMENTS})
        revisions = 0
        for mark in marks:
            while revisions < mark:
                store.edit({f"SegmentText[{revisions % SEGMENTS}]": f"take {revisions}"})
                assert store.regenerate(noop).committed
                revisions += 1
            store.edit({"SegmentText[0]": f"pending {mark}"})  # something to plan
            with_cp, _ = timed(store.plan, 5)
            store.checkpoints = Checkpoints(storage.movie("long"), every=10**9)
            missing = Checkpoints(storage.movie("long")).latest("artefacts") is None
            # without checkpoints: hide them by planning with an index built from the full history
            store.checkpoints.latest = lambda kind, at_or_before=None: None  # type: ignore[method-assign]
            without_cp, _ = timed(store.plan, 5)
            store.checkpoints = Checkpoints(storage.movie("long"))
            archives = len([r for r in storage.movie("long").list("events") if r.endswith(".artefacts.jsonl")])
            rows.append([mark, archives, with_cp * 1000, without_cp * 1000, without_cp / with_cp])
            assert not missing
    table(
        f"plan() after N revisions ({2 * SEGMENTS + 1} artefacts), median of 5, milliseconds",
        ["revisions", "artefact archives", "with checkpoints", "replaying all archives", "ratio"],
        rows,
    )


if __name__ == "__main__":
    main()
