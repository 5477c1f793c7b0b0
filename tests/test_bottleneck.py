"""Bottleneck adapters on the real SmolLM2-135M: identity at start, only adapters train, on/off, save/load."""

from __future__ import annotations

import pytest
import torch

from agent.bottleneck import (
    BottleneckAdapter,
    BottleneckConfig,
    add_bottleneck_adapters,
    bottleneck_state_dict,
    load_bottleneck,
    save_bottleneck,
    set_bottleneck_enabled,
)

IDS = torch.tensor([[1, 400, 2000, 31, 77, 9]])


@pytest.fixture
def model():
    from agent.base_model import load_model

    return load_model()


def _logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=IDS).logits


def test_output_is_unchanged_when_adapters_are_added(model):
    before = _logits(model)
    adapters = add_bottleneck_adapters(model, BottleneckConfig(bottleneck_dim=16))
    assert len(adapters) == 2 * model.config.num_hidden_layers
    assert torch.equal(_logits(model), before)


def test_only_adapter_weights_receive_gradients(model):
    add_bottleneck_adapters(model, BottleneckConfig(bottleneck_dim=16))
    trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    assert trainable and all("bottleneck_" in name for name in trainable)

    model.train()
    loss = model(input_ids=IDS, labels=IDS).loss
    loss.backward()
    # With up = 0 the gradient reaches up (its input is non-zero), not yet down.
    ups = [parameter.grad for name, parameter in model.named_parameters() if name.endswith("up.weight")]
    assert all(grad is not None for grad in ups) and any(grad.abs().sum() > 0 for grad in ups)
    assert all(parameter.grad is None for name, parameter in model.named_parameters() if "bottleneck_" not in name)


def test_switching_off_restores_the_base_output(model):
    base = _logits(model)
    add_bottleneck_adapters(model, BottleneckConfig(bottleneck_dim=16))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if ".up." in name:
                parameter.normal_(std=0.05)
    tuned = _logits(model)
    assert not torch.allclose(tuned, base, atol=1e-3)
    set_bottleneck_enabled(model, False)
    assert torch.equal(_logits(model), base)
    set_bottleneck_enabled(model, True)
    assert torch.equal(_logits(model), tuned)


def test_saved_adapters_load_into_a_fresh_model(model, tmp_path):
    from agent.base_model import load_model

    config = BottleneckConfig(bottleneck_dim=8, non_linearity="silu")
    add_bottleneck_adapters(model, config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "bottleneck_" in name:
                parameter.normal_(std=0.05)
    save_bottleneck(model, tmp_path, config)

    fresh = load_model()
    loaded = load_bottleneck(fresh, tmp_path)
    assert loaded.non_linearity == "silu"
    assert set(bottleneck_state_dict(fresh)) == set(bottleneck_state_dict(model))
    assert torch.equal(_logits(fresh), _logits(model))


def test_adapter_math_on_a_hand_worked_case():
    # hidden 2, bottleneck 1, relu: down = [1, -1], b=0; up = [[2], [3]], b=[0.5, 0].
    # h = [3, 1]: down(h) = 2, relu 2, up = [4.5, 6], output h + up = [7.5, 7].
    adapter = BottleneckAdapter(2, 1, "relu")
    with torch.no_grad():
        adapter.down.weight.copy_(torch.tensor([[1.0, -1.0]]))
        adapter.down.bias.zero_()
        adapter.up.weight.copy_(torch.tensor([[2.0], [3.0]]))
        adapter.up.bias.copy_(torch.tensor([0.5, 0.0]))
    assert adapter(torch.tensor([3.0, 1.0])).tolist() == [7.5, 7.0]
    with pytest.raises(ValueError, match="non_linearity"):
        BottleneckAdapter(2, 1, "tanh")
