"""A tiny Piper-compatible voice built by the tests: an ONNX graph with Piper's signature (inputs
``input`` [1, N] int64 phoneme ids, ``input_lengths`` [1], ``scales`` [3] → ``output`` [1, 1, T]
float) plus its ``.onnx.json`` config. The "audio" it returns encodes its input: each phoneme id
becomes ``HOP`` samples of value ``id / 1000 × length_scale``, so a test can read back exactly which
ids and which length scale the engine sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

HOP = 256
SAMPLE_RATE = 16_000
# Piper's reserved symbols, punctuation, Latin letters and the IPA eSpeak uses for Vietnamese.
SYMBOLS = (
    ["_", "^", "$", " ", "!", "'", ",", "-", ".", ":", ";", "?"]
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + list("ɐɑɔəɛɜɡɣɤɨɪɯɲŋʃʊʌʒʔθðçʰˈˌːˑ123456")
    + ["\u032a", "\u0303", "\u0306", "\u0330"]
)
PHONEME_ID_MAP = {symbol: [index] for index, symbol in enumerate(SYMBOLS)}


def _graph() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Cast", ["input"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["scales", "one"], ["length_scale"], axis=0),
        helper.make_node("Mul", ["ids_f", "milli"], ["ids_milli"]),
        helper.make_node("Mul", ["ids_milli", "length_scale"], ["values"]),
        helper.make_node("Unsqueeze", ["values", "axis2"], ["column"]),
        helper.make_node("Tile", ["column", "repeats"], ["tiled"]),
        helper.make_node("Reshape", ["tiled", "out_shape"], ["output"]),
    ]
    initializers = [
        helper.make_tensor("one", TensorProto.INT64, [], [1]),
        helper.make_tensor("milli", TensorProto.FLOAT, [], [0.001]),
        helper.make_tensor("axis2", TensorProto.INT64, [1], [2]),
        helper.make_tensor("repeats", TensorProto.INT64, [3], [1, 1, HOP]),
        helper.make_tensor("out_shape", TensorProto.INT64, [3], [1, 1, -1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-piper",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "samples"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_voice(directory: Path, name: str = "vi_VN-tiny-test", length_scale: float = 1.0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / f"{name}.onnx"
    onnx.save(_graph(), str(model_path))
    config = {
        "audio": {"sample_rate": SAMPLE_RATE, "quality": "x_low"},
        "espeak": {"voice": "vi"},
        "language": {"code": "vi_VN", "family": "vi", "region": "VN"},
        "inference": {"noise_scale": 0.667, "length_scale": length_scale, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_id_map": PHONEME_ID_MAP,
        "num_symbols": len(SYMBOLS),
        "num_speakers": 1,
        "speaker_id_map": {},
        "piper_version": "1.0.0",
        "loa": {"label": "Giọng thử nghiệm", "gender": "female", "region": "south"},
    }
    (directory / f"{name}.onnx.json").write_text(json.dumps(config, ensure_ascii=False), "utf-8")
    return model_path


def read_ids(samples: np.ndarray[Any, Any], length_scale: float) -> list[int]:
    blocks = samples.reshape(-1, HOP)
    assert np.allclose(blocks, blocks[:, :1]), "each id is a constant block"
    return [round(float(v) * 1000 / length_scale) for v in blocks[:, 0]]
