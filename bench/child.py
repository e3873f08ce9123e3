"""One measurement in its own process: `python -m bench.child TASK PARAMS.json RESULT.json`.

The orchestrator (`bench.run`) starts one of these per run, so every run has fresh memory, its own servers,
and a Temporal client that cannot disturb the next run. Ends with `os._exit` after flushing: the Temporal
core can abort at interpreter exit after Temporal work.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path


def main() -> None:
    task, params_file, result_file = sys.argv[1:4]
    params = json.loads(Path(params_file).read_text())
    code = 0
    from bench.procs import TreeCpu

    tree = TreeCpu()
    try:
        keep = os.environ.get("BENCH_KEEP")  # keep the run's folder (server and worker logs) for a post-mortem
        with (contextlib.nullcontext(tempfile.mkdtemp(prefix=f"relance-bench-{task}-")) if keep
              else tempfile.TemporaryDirectory(prefix=f"relance-bench-{task}-")) as folder:
            if task == "ingest":
                from bench import ingest

                result = asyncio.run(ingest.run(params, Path(folder)))
            elif task == "asleep":
                from bench import asleep

                result = asyncio.run(asleep.run(params, Path(folder)))
            elif task == "lifecycle":
                from bench import lifecycle

                result = asyncio.run(lifecycle.run(params, Path(folder)))
            elif task == "decision":
                from bench import decision

                result = decision.run(params)
            else:
                raise SystemExit(f"unknown task {task!r}")
        result["tree_cpu_seconds"] = tree.stop()
        Path(result_file).write_text(json.dumps(result, indent=1, default=str))
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
