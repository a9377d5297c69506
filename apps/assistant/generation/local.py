"""The local backend: a causal LM from a local folder (settings.HELPDESK_LLM_PATH), through transformers.

Loaded once per worker process and kept; only this module and convert.py import torch, and reply_generate
imports them only when the backend is asked for, so the extractive and openai backends never load it."""

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from django.conf import settings
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from apps.assistant.generation.base import GenerationError
from apps.assistant.generation.checks import unfinished_sentence_cut
from apps.assistant.generation.prompt import plain_prompt, plain_reply_cut
from apps.assistant.ml.encoder import device_default, torch_threads_apply

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedLM:
    path: Path
    device: torch.device
    tokenizer: PreTrainedTokenizerBase
    model: PreTrainedModel

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))


_loaded: LoadedLM | None = None
_lock = threading.Lock()


def local_lm(path: Path | None = None, device: torch.device | None = None) -> LoadedLM:
    """The model at ``path`` (default settings.HELPDESK_LLM_PATH) on ``device``, loaded on first use and kept
    until another path or device is asked for."""
    global _loaded
    path = Path(path or settings.HELPDESK_LLM_PATH)
    device = device or device_default()
    current = _loaded
    if current is not None and current.path == path and current.device == device:
        return current
    with _lock:
        if _loaded is None or _loaded.path != path or _loaded.device != device:
            _loaded = _load(path, device)
        return _loaded


def _load(path: Path, device: torch.device) -> LoadedLM:
    if not (path / "config.json").exists():
        raise GenerationError(f"no model at {path} (run manage.py prepare_llm, or set HELPDESK_LLM_PATH)")
    started = time.perf_counter()
    torch_threads_apply()
    # Half precision halves a GPU's memory traffic; CPUs are fastest and exact in float32.
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype).to(device).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise GenerationError(f"the model at {path} could not be loaded: {exc}") from exc
    logger.info("loaded %s on %s in %.2f s", path, device, time.perf_counter() - started)
    return LoadedLM(path=path, device=device, tokenizer=tokenizer, model=model)


def local_generate(*, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    """The model's greedy continuation of the grounding messages, special tokens removed."""
    lm = local_lm()
    prompt_ids = _prompt_ids(lm, messages)
    prompt_length = prompt_ids.shape[1]
    context = _context_length(lm.model)
    if context and prompt_length + max_new_tokens > context:
        raise GenerationError(f"prompt of {prompt_length} tokens leaves no room in a context of {context}")
    try:
        with torch.inference_mode():
            output = lm.model.generate(
                input_ids=prompt_ids,
                attention_mask=torch.ones_like(prompt_ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=_pad_token_id(lm.tokenizer),
            )
    except RuntimeError as exc:  # out of memory, a device lost: the customer still gets the passage
        raise GenerationError(f"generation failed: {exc}") from exc
    new_tokens = output[0, prompt_length:]
    text = lm.tokenizer.decode(new_tokens, skip_special_tokens=True)
    if not lm.has_chat_template:
        text = plain_reply_cut(text)
    return unfinished_sentence_cut(text) if len(new_tokens) >= max_new_tokens else text


def _prompt_ids(lm: LoadedLM, messages: list[dict[str, str]]) -> torch.Tensor:
    if lm.has_chat_template:
        encoded = lm.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
    else:
        encoded = lm.tokenizer(plain_prompt(messages), return_tensors="pt")
    return encoded["input_ids"].to(lm.device)


def _context_length(model: PreTrainedModel) -> int:
    config = model.config
    return int(getattr(config, "max_position_embeddings", 0) or getattr(config, "n_positions", 0) or 0)


def _pad_token_id(tokenizer: PreTrainedTokenizerBase) -> int:
    # Greedy decoding of one sequence pads nothing, but generate() wants an id and warns without one.
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return int(token_id)
    return 0
