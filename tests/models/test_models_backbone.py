"""Backbones, FPN and backbone initialisation (imagenet / PATH / none)."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torchvision

from vistool.errors import CheckpointError, ConfigError
from vistool.models.backbone import BACKBONES, Backbone, BackboneConfig, build_backbone


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_named_features_have_declared_channels_and_strides(name):
    net = Backbone(name, ("c2", "c3", "c4", "c5"), norm="frozen_bn").eval()
    assert net.strides == {"c2": 4, "c3": 8, "c4": 16, "c5": 32}
    with torch.no_grad():
        feats = net(torch.randn(1, 3, 96, 128))
    assert set(feats) == {"c2", "c3", "c4", "c5"}
    for key, value in feats.items():
        assert value.shape[1] == net.channels[key]
        assert value.shape[-2:] == (96 // net.strides[key], 128 // net.strides[key])


@pytest.mark.parametrize("extra,levels", [("none", ["p3", "p4", "p5"]), ("maxpool", ["p3", "p4", "p5", "p6"]),
                                          ("p6p7", ["p3", "p4", "p5", "p6", "p7"])])
def test_fpn_levels_and_strides(extra, levels):
    cfg = BackboneConfig(name="resnet18", norm="gn", in_features=("c3", "c4", "c5"), fpn_channels=16,
                         extra_levels=extra)
    net = build_backbone(cfg)
    assert list(net.strides) == levels
    assert net.strides["p3"] == 8 and net.strides[levels[-1]] == 2 ** int(levels[-1][1:])
    feats = net(torch.randn(2, 3, 128, 128))
    assert list(feats) == levels
    for key, value in feats.items():
        assert value.shape == (2, 16, 128 // net.strides[key], 128 // net.strides[key])


def test_freeze_at_stops_gradients_in_stem_and_first_stages():
    net = Backbone("resnet18", ("c2", "c3", "c4", "c5"), norm="gn", freeze_at=2)
    frozen = {n for n, p in net.body.named_parameters() if not p.requires_grad}
    assert any(n.startswith("conv1") for n in frozen) and any(n.startswith("layer1") for n in frozen)
    assert not any(n.startswith(("layer2", "layer3", "layer4")) for n in frozen)


def test_unknown_backbone_and_norm_are_config_errors():
    with pytest.raises(ConfigError, match="unknown backbone"):
        Backbone("vgg11")
    with pytest.raises(ConfigError, match="unknown norm"):
        Backbone("resnet18", norm="ln")


def test_local_state_dict_path_initialises_the_backbone(tmp_path):
    torch.manual_seed(3)
    source = torchvision.models.resnet18()
    path = tmp_path / "r18.pth"
    torch.save(source.state_dict(), path)
    net = Backbone("resnet18", ("c3", "c4"), norm="frozen_bn", weights=str(path))
    params = dict(net.body.named_parameters())
    assert torch.equal(params["layer2.0.conv1.weight"], source.layer2[0].conv1.weight)
    buffers = dict(net.body.named_buffers())
    assert torch.equal(buffers["layer2.0.bn1.running_var"], source.layer2[0].bn1.running_var)


def test_a_vistool_checkpoint_gives_its_backbone(tmp_path):
    from tests.helpers.evis import tiny_model

    from vistool.weights import save_checkpoint

    model = tiny_model(seed=5, backbone=BackboneConfig(name="resnet18", norm="gn", weights="none",
                                                       in_features=("c2", "c3", "c4", "c5"), fpn_channels=16))
    path = tmp_path / "evis.pt"
    save_checkpoint(path, model, half=True)
    net = Backbone("resnet18", ("c2", "c3"), norm="gn", weights=str(path))
    trained = dict(model.named_parameters())
    for name, param in net.body.named_parameters():
        assert torch.equal(param, trained[f"backbone.backbone.body.{name}"].half().float())


def test_a_checkpoint_without_a_backbone_is_rejected(tmp_path):
    from vistool.weights import FORMAT

    path = tmp_path / "odd.pt"
    torch.save({"format": FORMAT, "method": "efficientvis", "config": {}, "categories": ["a"],
                "state_dict": {"head.weight": torch.zeros(2)}}, path)
    with pytest.raises(CheckpointError, match="which tensors of this checkpoint are its backbone"):
        Backbone("resnet18", weights=str(path))


def test_state_dict_of_another_network_is_rejected_with_its_keys(tmp_path):
    path = tmp_path / "mnv3.pth"
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    with pytest.raises(CheckpointError, match="missing keys") as err:
        Backbone("resnet18", weights=str(path))
    assert "conv1.weight" in str(err.value) and "\n" not in str(err.value)


def test_imagenet_download_failure_is_one_line_with_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(CheckpointError) as err:
        Backbone("resnet18", weights="imagenet")
    message = str(err.value)
    assert "\n" not in message
    assert "imagenet" in message and "--backbone-weights PATH" in message and "name resolution" in message
