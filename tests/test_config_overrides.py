"""``--set KEY=VALUE``: dotted overrides of a config mapping."""

from __future__ import annotations

import pytest

from vistool.config import apply_overrides, parse_overrides
from vistool.errors import ConfigError

CONFIG = {"model": {"tracker": {"match_threshold": 0.31}},
          "train": {"lr": 1e-3, "stages": [{"name": "detector"}, {"name": "tracker", "lr_drops": [5000]}]}}


def test_values_are_read_as_yaml():
    assert parse_overrides(["train.lr=1.0e-4", "train.stages.1.lr_drops=[1500]", "model.positional=false",
                            "method=rgnnvis"]) == {
        "train.lr": 1e-4, "train.stages.1.lr_drops": [1500], "model.positional": False, "method": "rgnnvis"}


def test_dotted_keys_set_mappings_and_list_items_on_a_copy():
    out = apply_overrides(CONFIG, {"train.stages.1.lr_drops": [1500], "model.tracker.match_threshold": 0.1,
                                   "train.stages.-1.steps": 2000})
    assert out["train"]["stages"][1] == {"name": "tracker", "lr_drops": [1500], "steps": 2000}
    assert out["model"]["tracker"]["match_threshold"] == 0.1
    assert CONFIG["train"]["stages"][1]["lr_drops"] == [5000] and CONFIG["model"]["tracker"]["match_threshold"] == 0.31


def test_missing_sections_are_created_for_the_dataclass_check():
    assert apply_overrides({}, {"model.detector.nms_iou": 0.5}) == {"model": {"detector": {"nms_iou": 0.5}}}


@pytest.mark.parametrize("item, message", [
    ("train.lr", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
    ("train.lr=[1, 2", "not valid YAML"),
])
def test_malformed_settings_are_one_line_errors(item, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_overrides([item])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key, message", [
    ("train.stages.2.lr", "not an index of a list of 2 items"),
    ("train.stages.x.lr", "not an index"),
    ("train.lr.value", "not a mapping or list"),
])
def test_keys_that_do_not_fit_the_structure_are_errors(key, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(CONFIG, {key: 1})


def test_float_settings_accept_exponents_yaml_reads_as_strings():
    from vistool.config import from_dict
    from vistool.engine.train_setup import TrainConfig

    assert from_dict(TrainConfig, parse_overrides(["lr=1e-4"])).lr == 1e-4
    with pytest.raises(ConfigError, match=r"train.lr: expected a number, got 'fast'"):
        from_dict(TrainConfig, {"lr": "fast"}, where="train")
