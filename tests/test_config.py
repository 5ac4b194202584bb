import pytest

import ganlab
from ganlab.core.config import PRESETS, GANConfig


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(lr_d=0.0), r"lr_d must be > 0 and <= 1 \(got 0.0\)"),
        (dict(lr_g=-1e-3), r"lr_g must be > 0 and <= 1 \(got -0.001\)"),
        (dict(k_d=0), r"k_d must be an integer in \[1, 100\] \(got 0\)"),
        (dict(loss="wgan"), r"loss must be one of .*'hinge'.* \(got 'wgan'\)"),
        (dict(beta1=1.0), r"beta1 must be in \[0, 1\)"),
        (dict(r1=-1.0), r"r1 must be >= 0"),
        (dict(d_width=-1), r"d_width must be an integer in \[0, 4096\] \(got -1\)"),
        (dict(conv_extra=9), r"conv_extra must be an integer in \[0, 8\] \(got 9\)"),
        (dict(r1_every=0), r"r1_every must be an integer in \[1, 1000\] \(got 0\)"),
        (dict(ema=1.0), r"ema must be in \[0, 1\) \(got 1.0\)"),
        (dict(batch_size=0), r"batch_size must be an integer"),
        (dict(data="mnist"), r"model must be 'dcgan' for image data 'mnist'"),
        (dict(model="dcgan"), r"model must be 'mlp' for 2-D data 'ring'"),
        (dict(n_classes=10), r"n_classes must be 0 for 2-D data"),
        (dict(data="cifar"), r"data must be one of"),
        (dict(g_hidden=-1), r"g_hidden must be an integer in \[0, 65536\] \(got -1\)"),
        (dict(g_batchnorm=True), r"g_hidden and g_batchnorm are for the DCGAN's generator"),
    ],
)
def test_bad_values_name_the_field_value_and_range(changes, message):
    with pytest.raises(ValueError, match=message):
        GANConfig(**changes)


def test_presets_are_valid_and_overridable():
    for name in PRESETS:
        assert ganlab.preset(name).data
    cfg = ganlab.preset("ring", lr_d=3e-4)
    assert cfg.lr_d == 3e-4 and cfg.data == "ring"
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        ganlab.preset("nope")


def test_dict_round_trip_and_unknown_fields():
    cfg = ganlab.preset("grid", loss="hinge")
    assert GANConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"unknown field 'learning_rate'; Fields: data, model"):
        GANConfig.from_dict({"learning_rate": 1e-3})


def test_batch_larger_than_the_data_is_refused():
    data = ganlab.data.points([[0, 0], [1, 1]])
    # points are sampled with noise (infinite data): fine; a small image set is not.
    ganlab.GAN(GANConfig(data="points", batch_size=8), data)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(codes=64), r"codes must be an integer in \[0, 63\] \(got 64\)"),
        (dict(codes=10, n_classes=10), r"codes \(InfoGAN\) need the unconditional DCGAN"),
        (dict(info_weight=-1.0), r"info_weight must be >= 0"),
    ],
)
def test_infogan_codes_are_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        ganlab.preset("mnist", **changes)
