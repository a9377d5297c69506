"""Softmax temperature scaling, shared by every classifier that reports calibrated probabilities."""

import math

import torch
from torch import nn


def temperature_fit(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The temperature that minimises the validation NLL of ``logits`` (Guo et al. 2017); 1.0 when the fit
    runs away (a degenerate validation split)."""
    logits = logits.detach()
    log_temperature = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_temperature.exp(), targets)
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_temperature.detach().exp())
    return temperature if math.isfinite(temperature) and 0.05 < temperature < 20 else 1.0
