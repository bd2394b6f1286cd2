"""Vietnamese text normalisation throughput on realistic mixed administrative text.

The text is the corpus of real and realistic sentences (the district report, decrees, disaster
bulletins, public-service notices, farming and health news) repeated to about 1 MB. The figure is the
median over several runs, in characters and in UTF-8 megabytes per second; the issue's target is
1 MB/s (≥ 1,000,000 characters/s).

The baseline is the cheapest pass anything could make over the same text in the same run: a
``str.split`` and one regex search for digits, capitals and marks (where the normaliser's rules can
start). ``speech.normalize_vs_plain_pass_ratio`` says how many times slower the whole normaliser is
than that floor, which is less sensitive to how busy the machine is than the absolute figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import Result, median_seconds
from loa.speech.normalize import normalize

_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "speech" / "normalize" / "cases.tsv"
_TARGET_BYTES = 1_000_000
_TOKEN_STARTS = re.compile(r"[0-9A-ZĐ.,;:!?()/%-]+")


def _plain_pass(text: str) -> int:
    return len(text.split()) + sum(1 for _ in _TOKEN_STARTS.finditer(text))


def _mixed_text() -> str:
    sentences = [
        line.split("\t", 1)[0]
        for line in _CORPUS.read_text("utf-8").splitlines()
        if line and not line.startswith(("#", "input\t"))
    ]
    block = "\n".join(sentences) + "\n"
    repeat = max(1, _TARGET_BYTES // len(block.encode()) + 1)
    return block * repeat


def run() -> Iterator[Result]:
    text = _mixed_text()
    normalize(text[:10_000])  # load the dictionary outside the timed runs
    seconds = median_seconds(lambda: normalize(text), repeat=5)
    yield Result("speech.normalize_throughput", len(text) / seconds, "chars/s", 1_000_000, "higher")
    yield Result(
        "speech.normalize_throughput_bytes", len(text.encode()) / seconds / 1e6, "MB/s", 1.0, "higher"
    )
    plain = median_seconds(lambda: _plain_pass(text), repeat=5)
    yield Result(
        "speech.plain_pass_throughput_bytes", len(text.encode()) / plain / 1e6, "MB/s", better="higher"
    )
    yield Result("speech.normalize_vs_plain_pass_ratio", seconds / plain, "ratio")
