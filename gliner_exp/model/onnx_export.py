"""A saved GLiNER as ONNX, through gliner's own exporter, and an exported one loaded into onnxruntime.

:func:`export_onnx` writes what ``GLiNER.from_pretrained(dir, load_onnx_model=True)``
loads (the graph, ``gliner_config.json``, the tokenizer) plus the model's
gliner_exp decoding settings; :func:`load_onnx` loads one file of it as a GLiNER
whose forward runs in onnxruntime, so the project's decoding and scoring code
(:mod:`gliner_exp.model.inference`) runs on it unchanged. Whether the graph
computes what the torch model does is the caller's parity gate, not decided here.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any, Iterator, List

from gliner_exp.model.inference import SETTINGS_FILE

#: gliner's file names: ``GLiNER.from_pretrained(dir, load_onnx_model=True)`` loads ONNX_FILE by default.
ONNX_FILE = "model.onnx"
QUANTIZED_FILE = "model_quantized.onnx"


class OnnxExportError(RuntimeError):
    """gliner's exporter or quantizer could not produce a file that was asked for."""


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    # The TorchScript tracer warns about every Python bool it takes from a tensor, onnxruntime's quantizer
    # logs each tensor it leaves in float: hundreds of lines with nothing to act on. Whether the graph is
    # right is what the parity gate measures.
    previous = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"(?s).*(trace might not generalize|trace to be incorrect)")
        warnings.filterwarnings("ignore", message=r"(?s).*Exporting aten::index operator")
        warnings.filterwarnings("ignore", message=r"(?s).*with a variable length with LSTM")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


def export_onnx(model_dir: str | Path, out_dir: str | Path, quantize: bool, opset: int) -> List[Path]:
    """Write the model saved in ``model_dir`` as ONNX into ``out_dir`` with gliner's ``export_to_onnx``.

    Returns the graph files: ``[model.onnx]``, and with ``quantize`` also
    ``model_quantized.onnx`` (int8 dynamic quantization of the weights,
    onnxruntime's ``quantize_dynamic``). The model is loaded as plain gliner
    loads it, so the graph traces gliner's own forward: gliner_exp's fused span
    layer (:func:`~gliner_exp.model.gliner_internals.fuse_span_projection`) is a
    speed-up for torch that the TorchScript exporter cannot trace, and ONNX
    Runtime fuses on its own. The directory also receives ``gliner_config.json``
    and the tokenizer (the decoding settings: :func:`copy_settings`). Raises
    :class:`OnnxExportError` where quantization was asked for and not done
    (gliner only warns and carries on).
    """
    from gliner import GLiNER

    model = GLiNER.from_pretrained(str(model_dir), strict=True, local_files_only=True)
    out_dir = Path(out_dir)
    with _quiet_exporter():
        paths = model.export_to_onnx(out_dir, onnx_filename=ONNX_FILE, quantized_filename=QUANTIZED_FILE,
                                     quantize=quantize, opset=opset)
    files = [Path(paths["onnx_path"])]
    if quantize:
        if paths.get("quantized_path") is None:
            raise OnnxExportError(f"int8 quantization of {files[0]} failed (gliner's warning above says why); "
                                  "export without quantize=true or fix the cause")
        files.append(Path(paths["quantized_path"]))
    return files


def copy_settings(model_dir: str | Path, out_dir: str | Path) -> Path | None:
    """Copy the model's decoding settings beside its export, so the export decodes as the model does."""
    source = Path(model_dir) / SETTINGS_FILE
    if not source.is_file():
        return None
    return Path(shutil.copy2(source, Path(out_dir) / SETTINGS_FILE))


def onnx_files(export_dir: str | Path) -> List[Path]:
    """The graph files of an export directory, gliner's plain one first."""
    export_dir = Path(export_dir)
    known = [export_dir / name for name in (ONNX_FILE, QUANTIZED_FILE)]
    others = sorted(p for p in export_dir.glob("*.onnx") if p not in known)
    return [p for p in known if p.is_file()] + others


def load_onnx(export_dir: str | Path, file_name: str, threads: int) -> Any:
    """The GLiNER of ``export_dir`` with ``file_name`` run by onnxruntime (CPU) on ``threads`` threads.

    ``threads`` is given, not onnxruntime's default of every core, so a latency
    comparison with torch uses the same number of threads on both sides.
    """
    import onnxruntime as ort
    from gliner import GLiNER

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # What gliner sets when it makes the options itself.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return GLiNER.from_pretrained(str(export_dir), runtime="onnxruntime", runtime_model_file=file_name,
                                  session_options=options, local_files_only=True)


@contextlib.contextmanager
def runtime_inputs_ignored() -> Iterator[None]:
    """Silence gliner's warning, once per batch, that a runtime model ignores the collated batch's extra keys.

    gliner's own ``run_batch`` hands the runtime the whole batch (tokens,
    label maps, ...); the graph takes the tensors it has inputs for, as intended.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Inputs not present in the runtime graph were ignored")
        yield
