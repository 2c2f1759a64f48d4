"""Against a peer doing the same job: DVC (3.67) on a pipeline of the same shape.

1. After one parameter edit, `dvc status` on N segments x 3 stages + a collector (`foreach` in
   dvc.yaml), against `movie-assets plan --json` on a movie of the same shape (both as a user runs
   them: a fresh process each).
2. `dvc add` of a large file against our blob put of the same file (both hash and store it).

    python benchmarks/bench_dvc.py [--quick | --smoke]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import yaml  # noqa: E402
from _common import chain_blueprint, machine, size_parser, table  # noqa: E402

from movie_assets.movie import MovieStore  # noqa: E402
from movie_assets.store.config import StorageConfig  # noqa: E402
from movie_assets.store.storage import StorageContext  # noqa: E402


def _text_producer(request):
    from movie_assets.pipeline.produce import ProduceResult

    return ProduceResult({o.name: f"{request.job.job_id}".encode() for o in request.job.outputs})


def _wall(command: list[str], cwd: str | Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def dvc_pipeline(folder: Path, segments: int) -> float:
    """Seconds of `dvc status` after one parameter edit (median of 3), on a reproduced pipeline."""
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=folder, check=True)
    params = {"segments": {f"s{i:05d}": {"text": f"text {i}"} for i in range(segments)}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    chain = {}
    for stage, source in (("script", None), ("prompt", "script"), ("clip", "prompt")):
        do = {
            "cmd": f"mkdir -p {stage} && echo ${{item.text}} {stage} > {stage}/${{key}}.txt",
            "outs": [f"{stage}/${{key}}.txt"],
        }
        if source:
            do["deps"] = [f"{source}/${{key}}.txt"]
        else:
            do["params"] = ["segments.${key}.text"]
        chain[stage] = {"foreach": "${segments}", "do": do}
    chain["timeline"] = {"cmd": "cat clip/*.txt > timeline.txt", "deps": ["clip"], "outs": ["timeline.txt"]}
    (folder / "dvc.yaml").write_text(yaml.safe_dump({"stages": chain}, sort_keys=False))
    subprocess.run(["dvc", "repro", "-q"], cwd=folder, check=True, capture_output=True)
    params["segments"]["s00001"]["text"] = "edited"
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    return sorted(_wall(["dvc", "status"], folder) for _ in range(3))[1]


def ours_pipeline(folder: Path, segments: int) -> float:
    """Seconds of `movie-assets plan --json` after one edit (median of 3), on a built movie."""
    store = MovieStore(StorageContext(StorageConfig(root=str(folder))), "film")
    store.init(chain_blueprint(["script", "prompt", "clip"]), {"NumOfSegments": segments})
    assert store.regenerate(_text_producer, concurrency=2).committed
    store.edit({"SegmentText[1]": "edited"})
    command = [sys.executable, "-m", "movie_assets.cli", "--root", str(folder), "plan", "film", "--json"]
    return sorted(_wall(command, folder) for _ in range(3))[1]


def add_large(folder: Path, mib: int) -> tuple[float, float]:
    """(dvc add seconds, our blob put seconds) for one `mib`-MiB file."""
    data = folder / "big.bin"
    with open(data, "wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1 << 20))
    repo = folder / "repo"
    repo.mkdir()
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=repo, check=True)
    shutil.copy(data, repo / "big.bin")
    t_dvc = _wall(["dvc", "add", "-q", "big.bin"], repo)
    # ours in a fresh process too, so both sides pay their interpreter's start-up
    put = (
        "import sys\nfrom movie_assets.store.blobs import BlobStore\n"
        "from movie_assets.store.config import StorageConfig\nfrom movie_assets.store.storage import StorageContext\n"
        "store = BlobStore(StorageContext(StorageConfig(root=sys.argv[1])).movie('m'))\n"
        "with open(sys.argv[2], 'rb') as handle:\n    store.put(handle)\n"
    )
    t_ours = _wall([sys.executable, "-c", put, str(folder / "ours"), str(data)], folder)
    return t_dvc, t_ours


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    if shutil.which("dvc") is None:
        print(f"machine: {machine()}\ndvc is not installed (pip install 'dvc==3.67.*'): nothing measured")
        return
    print(
        f"machine: {machine()}; {subprocess.run(['dvc', '--version'], capture_output=True, text=True).stdout.strip()}"
    )
    segments = 3 if args.smoke else 20 if args.quick else 100
    mib = 8 if args.smoke else 256 if args.quick else 1024
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        dvc_dir, ours_dir = Path(tmp, "dvc"), Path(tmp, "ours")
        dvc_dir.mkdir()
        ours_dir.mkdir()
        t_dvc, t_ours = dvc_pipeline(dvc_dir, segments), ours_pipeline(ours_dir, segments)
        rows.append(
            [f"status after one edit, {segments} segments x 3 stages + collector", t_dvc, t_ours, t_dvc / t_ours]
        )
    with tempfile.TemporaryDirectory() as tmp:
        t_dvc, t_ours = add_large(Path(tmp), mib)
        rows.append([f"store one {mib} MiB file (dvc add / blob put, each a process)", t_dvc, t_ours, t_dvc / t_ours])
    table(
        "DVC vs movie_assets (seconds, a fresh process for each status/plan)",
        ["task", "DVC", "ours", "DVC / ours"],
        rows,
    )


if __name__ == "__main__":
    main()
