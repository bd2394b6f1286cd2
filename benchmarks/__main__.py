"""Run every benchmark module and print one JSON line per figure.

Each module in ``BENCH_MODULES`` exposes ``run() -> Iterable[Result]``. Figures are medians; where a
baseline is measured in the same run (raw broker, eSpeak alone, the database alone) a ratio is printed too.
Select modules with ``make bench BENCH_ARGS="speech schedule"``.
"""

from __future__ import annotations

import importlib
import json
import sys

BENCH_MODULES: tuple[str, ...] = (
    "benchmarks.agent_streams",
    "benchmarks.alert_typed",
    "benchmarks.alerts",
    "benchmarks.alerts_cap",
    "benchmarks.areas",
    "benchmarks.fleet",
    "benchmarks.fleet_cluster",
    "benchmarks.glass_to_speaker",
    "benchmarks.libs",
    "benchmarks.live",
    "benchmarks.pages",
    "benchmarks.report_history",
    "benchmarks.reports",
    "benchmarks.schedule",
    "benchmarks.speech_audio",
    "benchmarks.speech_text",
)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    for name in BENCH_MODULES:
        short = name.rsplit(".", 1)[-1]
        if wanted and short not in wanted:
            continue
        module = importlib.import_module(name)
        for result in module.run():
            sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
