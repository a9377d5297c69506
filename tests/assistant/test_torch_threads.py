"""HELPDESK_TORCH_THREADS sets torch's threads where models are loaded."""

import torch

from apps.assistant.ml.encoder import encoder_load


def test_the_setting_sets_torchs_threads_when_a_model_loads(settings, tiny_encoder_path):
    before = torch.get_num_threads()
    settings.HELPDESK_TORCH_THREADS = 1
    try:
        encoder_load(tiny_encoder_path)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_zero_leaves_torchs_default(settings, tiny_encoder_path):
    before = torch.get_num_threads()
    settings.HELPDESK_TORCH_THREADS = 0

    encoder_load(tiny_encoder_path)

    assert torch.get_num_threads() == before
