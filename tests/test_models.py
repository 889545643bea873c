"""Contract tests for every registered architecture (parametrized over list_models())."""
from __future__ import annotations

import urllib.error

import pytest
import torch

from medcolor.errors import InputError, MedcolorError, UnknownModelError
from medcolor.models import create_model, list_models, model_entry
from medcolor.models.base import Colorizer
from medcolor.models.summary import count_flops, count_params, example_inputs
from medcolor.weights import load_model, save_model

# Inception-ResNet-v2 is heavy: the tests give its branch the smallest input it accepts.
SMALL = {"unet_fusion": {"embed_size": 75}}
SIZES = [(64, 64), (97, 131)]


def build(name: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, **{**SMALL.get(name, {}), **kw})


def inputs(model, h, w, batch=2, seed=1):
    return example_inputs(model, (h, w), batch=batch, generator=torch.Generator().manual_seed(seed))


def test_registry_has_the_whole_zoo():
    names = set(list_models())
    assert {"autoencoder", "unet", "unet_fusion", "resnet18_unet", "resnet34_unet", "eccv16",
            "gan_generator", "global_discriminator", "patchgan", "fastcolor"} <= names
    assert set(list_models("discriminator")) == {"global_discriminator", "patchgan"}
    for n in names:
        assert model_entry(n).paper, n


def test_unknown_model_lists_known_ones():
    with pytest.raises(UnknownModelError, match="unet_fusion"):
        create_model("no_such_net")


@pytest.fixture(scope="module")
def models():
    """One instance per architecture, shared by the tests of this module (building is slow)."""
    return {n: build(n) for n in list_models()}


@pytest.mark.parametrize("name", list_models())
def test_output_shape_and_finite(models, name):
    model = models[name].eval()
    for h, w in SIZES:
        with torch.no_grad():
            out = model(*inputs(model, h, w))
        if model_entry(name).kind == "colorizer":
            assert out.shape == (2, 2, h, w)
        elif name == "patchgan":  # three 4x4 stride-2 convs (floor halving), two 4x4 stride-1 (-1 each)
            assert out.shape == (2, 1, h // 8 - 2, w // 8 - 2)
        else:
            assert out.shape == (2, 1)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_models())
def test_backward_reaches_every_parameter(models, name):
    model = models[name].train()
    model.zero_grad(set_to_none=True)
    out = model(*inputs(model, 64, 64))
    out.square().mean().backward()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    if name == "unet_fusion":
        # Deep Koalarization's Inception-ResNet-v2 is frozen by default: explicitly no gradients.
        assert frozen and all(n.startswith("embed.") for n in frozen)
        assert count_params(model, trainable_only=True) < count_params(model)
    else:
        assert not frozen
    for n, p in model.named_parameters():
        if n in frozen:
            assert p.grad is None, n
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
            assert p.grad.abs().sum() > 0, n
    model.zero_grad(set_to_none=True)


def test_unet_fusion_unfrozen_trains_the_embedding():
    model = build("unet_fusion", freeze_embed=False).train()
    assert all(p.requires_grad for p in model.parameters())
    assert model.embed.training
    # The embedding is part of the autograd graph (a full backward through Inception is slow).
    g = model.embedding(torch.rand(2, 1, 32, 32) * 2 - 1)
    assert g.shape == (2, 1536) and g.grad_fn is not None


@pytest.mark.parametrize("name", list_models())
def test_eval_is_deterministic(models, name):
    model = models[name].eval()
    x = inputs(model, 97, 131, batch=1)
    with torch.no_grad():
        a, b = model(*x), model(*x)
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", list_models())
def test_save_load_round_trip(models, name, tmp_path):
    model = models[name].eval()
    path = save_model(model, tmp_path / name, meta={"description": "test"})
    loaded = load_model(path)
    assert type(loaded) is type(model)
    x = inputs(model, 64, 96, batch=1)
    with torch.no_grad():
        assert torch.allclose(model(*x), loaded(*x), atol=1e-5)
    sd, ld = model.state_dict(), loaded.state_dict()
    assert sd.keys() == ld.keys()
    assert all(torch.equal(sd[k], ld[k]) for k in sd)


def test_flops_scale_with_area():
    model = build("unet")
    f128, f256 = count_flops(model, 128), count_flops(model, 256)
    assert f128 > 0 and f256 == pytest.approx(4 * f128, rel=0.02)


def test_first_conv_takes_one_channel_and_any_size():
    model = build("resnet18_unet").eval()
    assert model.encoder.conv1.in_channels == 1
    with torch.no_grad():
        assert model(torch.rand(1, 1, 5, 7) * 100).shape == (1, 2, 5, 7)


# --- pretrained encoder weights (never the network) -------------------------------------

def _fake_torchvision_resnet18(tmp_path, suffix):
    import torchvision

    torch.manual_seed(3)
    state = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return state, path


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_sum_rgb_filters(tmp_path, suffix):
    state, path = _fake_torchvision_resnet18(tmp_path, suffix)
    model = create_model("resnet18_unet", weights=str(path))
    enc = model.encoder.state_dict()
    assert torch.allclose(enc["conv1.weight"], state["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(enc["layer3.1.conv2.weight"], state["layer3.1.conv2.weight"])
    assert model.medcolor_arch == {"name": "resnet18_unet", "kwargs": {}}


def test_weights_of_the_wrong_network_are_refused(tmp_path):
    _, path = _fake_torchvision_resnet18(tmp_path, ".pth")
    with pytest.raises(MedcolorError, match="do not fit"):
        create_model("resnet34_unet", weights=str(path))
    bad = tmp_path / "junk.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth"):
        create_model("resnet18_unet", weights=str(bad))


def test_offline_torchvision_download_says_how_to_pass_a_file(monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models, "resnet18", offline)
    with pytest.raises(MedcolorError, match=r"weights=/path/to/resnet18-f37072fd\.pth.*model\.weights=PATH|"
                                            r"weights='/path/to/resnet18-f37072fd\.pth'"):
        create_model("resnet18_unet", pretrained=True)


def test_offline_timm_download_says_how_to_pass_a_file(monkeypatch):
    import timm

    real = timm.create_model

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("hub unreachable")
        return real(name, pretrained=False, **kw)

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(MedcolorError, match="offline, pass a local file.*model.weights="):
        create_model("unet_fusion", pretrained=True)


# ------------------------------------------------------------------ capabilities
def test_capabilities_are_data_on_the_entry_the_card_and_the_model(tmp_path):
    from medcolor.card import ModelCard
    from medcolor.models.registry import model_capabilities

    eff = model_entry("effcolor_lite0").capabilities
    assert eff.hints and eff.bins and eff.confidence and eff.temperature == 0.6
    fast = model_entry("fastcolor").capabilities
    assert not (fast.hints or fast.bins or fast.confidence) and fast.temperature is None
    eccv = model_entry("eccv16").capabilities
    assert eccv.bins and not eccv.confidence and eccv.temperature == 0.38
    card = ModelCard(architecture="effcolor_lite0", kwargs={"T": 0.4}, working_size=None)
    assert card.capabilities.temperature == 0.4 and card.capabilities.working_size is None
    net = create_model("fastcolor", widths=[8, 8, 8, 8, 8])
    save_model(net.eval(), tmp_path / "m.safetensors", meta={"working_size": 64})
    assert model_capabilities(load_model(tmp_path / "m.safetensors")).working_size == 64
    assert model_capabilities(torch.nn.Conv2d(1, 2, 1)).working_size == 256  # outside the registry: defaults


class _Plain(Colorizer):
    """A colorizer without hint input or confidence."""

    def forward_normalized(self, x):
        return x.repeat(1, 2, 1, 1)


def _plain_factory() -> _Plain:
    return _Plain()


def test_a_wrong_capability_declaration_fails_at_registration():
    from medcolor.models import registry

    with pytest.raises(ValueError, match="hints=True but its class does not implement it"):
        registry.register_model(_plain_factory, name="test_plain_with_hints", hints=True)
    with pytest.raises(ValueError, match="confidence=True"):
        registry.register_model(_plain_factory, name="test_plain_with_confidence", confidence=True)
    assert "test_plain_with_hints" not in list_models()
    # a factory whose class is not annotated is checked when the first model is built
    registry.register_model(lambda: _Plain(), name="test_plain_unannotated", hints=True)
    try:
        with pytest.raises(ValueError, match="hints=True"):
            create_model("test_plain_unannotated")
    finally:
        registry._REGISTRY.pop("test_plain_unannotated")


def test_a_malformed_card_is_a_card_error_not_an_unknown_model():
    from medcolor.card import ModelCard, ModelCardError

    with pytest.raises(ModelCardError, match="working_size"):
        ModelCard(architecture="fastcolor", working_size=-3)
    with pytest.raises(ModelCardError, match="no architecture"):
        ModelCard.from_config({"meta": {}})
    with pytest.raises(ModelCardError, match="lineage"):
        ModelCard(architecture="fastcolor", lineage=[{"commands": [3]}])
    stage = {"init": "runs/a", "recipe": "fastcolor-photo", "commands": ["medcolor train --out runs/a"]}
    card = ModelCard(architecture="fastcolor", lineage=[stage], commands=["medcolor train model.init=runs/a"])
    assert ModelCard.from_config(card.to_config()) == card  # the lineage survives the JSON round trip
    assert not issubclass(ModelCardError, UnknownModelError)
