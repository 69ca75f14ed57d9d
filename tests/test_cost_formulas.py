"""Pure cost formulas against hand-computed numbers (no Keras needed)."""
from fractions import Fraction

import pytest

from playground.cost import formulas as F


# --- the lecture's reference figures -------------------------------------------------------

def test_3x3_conv_256_to_192_at_28x28():
    assert F.conv_macs((3, 3), 256, 192, (28, 28)) == 346_816_512


def test_1x1_bottleneck_before_3x3():
    reduce = F.conv_macs((1, 1), 256, 64, (28, 28))
    conv = F.conv_macs((3, 3), 64, 192, (28, 28))
    assert (reduce, conv) == (12_845_056, 86_704_128)
    assert reduce + conv == 99_549_184


def test_naive_inception_module():
    terms = [
        F.conv_macs((1, 1), 256, 128, (28, 28)),
        F.conv_macs((3, 3), 256, 192, (28, 28)),
        F.conv_macs((5, 5), 256, 96, (28, 28)),
    ]
    assert terms == [25_690_112, 346_816_512, 481_689_600]
    assert sum(terms) == 854_196_224


def test_inception_module_with_reductions():
    terms = [
        F.conv_macs((1, 1), 256, 64, (28, 28)),   # reduce before 3x3
        F.conv_macs((1, 1), 256, 64, (28, 28)),   # reduce before 5x5
        F.conv_macs((1, 1), 256, 128, (28, 28)),  # 1x1 branch
        F.conv_macs((3, 3), 64, 192, (28, 28)),
        F.conv_macs((5, 5), 64, 96, (28, 28)),
        F.conv_macs((1, 1), 256, 64, (28, 28)),   # pool projection
    ]
    assert sum(terms) == 271_351_808


@pytest.mark.parametrize(
    "m, df, std_macs, sep_macs, sep_text",
    [
        (512, 14, 462_422_016, 52_283_392, "52.3M"),
        (384, 14, None, 29_578_752, "29.6M"),  # width multiplier alpha = 0.75
        (384, 10, None, 15_091_200, "15.1M"),  # + resolution multiplier rho = 0.714
    ],
)
def test_mobilenet_table3(m, df, std_macs, sep_macs, sep_text):
    sep = F.separable_macs((3, 3), m, m, (df, df))
    assert sep == sep_macs
    assert F.format_count(sep) == sep_text
    std = F.conv_macs((3, 3), m, m, (df, df))
    if std_macs is not None:
        assert std == std_macs
    assert Fraction(sep, std) == F.separable_cost_ratio(m, 3)


def test_separable_cost_ratio_is_exact():
    assert F.separable_cost_ratio(512, 3) == Fraction(1, 512) + Fraction(1, 9)
    weights_std = 3 * 3 * 512 * 512
    weights_sep = 3 * 3 * 512 + 512 * 512
    assert weights_std == 2_359_296 and weights_sep == 266_752
    assert Fraction(weights_sep, weights_std) == F.separable_cost_ratio(512, 3)


# --- the other formulas -------------------------------------------------------------------

def test_grouped_conv_divides_input_channels():
    assert F.conv_macs((3, 3), 64, 128, (8, 8), groups=4) == 9 * 16 * 128 * 64
    with pytest.raises(ValueError, match="groups"):
        F.conv_macs((3, 3), 6, 8, (4, 4), groups=4)


def test_depthwise_with_multiplier():
    assert F.depthwise_macs((3, 3), 32, (10, 10), depth_multiplier=2) == 9 * 32 * 2 * 100


def test_conv_transpose_counts_per_input_element():
    assert F.conv_transpose_macs((4, 4), 16, 8, (7, 7)) == 16 * 16 * 8 * 49


def test_dense_on_any_rank():
    assert F.dense_macs(784, 10) == 7_840
    assert F.dense_macs(64, 32, leading=(49,)) == 64 * 32 * 49
    assert F.dense_macs(8, 4, leading=(3, 5)) == 8 * 4 * 15


def test_unknown_dimension_is_never_zero():
    with pytest.raises(F.UnknownDimension):
        F.conv_macs((3, 3), 8, 8, (None, 10))
    with pytest.raises(F.UnknownDimension):
        F.dense_macs(None, 4)


@pytest.mark.parametrize(
    "n, k, s, padding, d, expected",
    [
        (28, 3, 1, "same", 1, 28),
        (28, 3, 1, "valid", 1, 26),
        (224, 7, 2, "same", 1, 112),
        (224, 7, 2, "valid", 1, 109),
        (10, 3, 1, "valid", 2, 6),
        (10, 3, 2, "causal", 1, 5),
        (5, 7, 1, "valid", 1, 0),
        (None, 3, 1, "same", 1, None),
    ],
)
def test_conv_output_length(n, k, s, padding, d, expected):
    assert F.conv_output_length(n, k, s, padding, d) == expected


def test_rf_step_and_chains():
    assert F.rf_step(1, 1, 3) == (3, 1)
    assert F.receptive_field([(3, 1)] * 3) == (7, 1)       # = one 7x7
    assert F.receptive_field([(7, 2), (3, 2)]) == (11, 4)  # ResNet stem: conv 7/2, pool 3/2
    assert F.rf_step(1, 1, 3, 1, 2) == (5, 1)               # dilation 2: k_eff = 5
    assert F.rf_step(11, 4, 3, 2) == (19, 8)


def test_flops_convention():
    assert F.flops(100, 7) == 207


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0"),
        (512, "512"),
        (4_608, "4.61K"),
        (266_752, "266.8K"),
        (3_538_984, "3.54M"),
        (25_636_712, "25.6M"),
        (99_549_184, "99.5M"),
        (346_816_512, "346.8M"),
        (999_960_000, "1.00G"),
        (1_820_000_000, "1.82G"),
        (15_470_000_000, "15.5G"),
    ],
)
def test_format_count_short(n, text):
    assert F.format_count(n) == text


def test_format_count_exact_and_bytes():
    assert F.format_count(99_549_184, "exact") == "99,549,184"
    assert F.format_count(None) == "?"
    with pytest.raises(ValueError, match="style"):
        F.format_count(1, "long")
    assert F.format_bytes(100) == "100 B"
    assert F.format_bytes(5_000) == "4.88 KiB"
    assert F.format_bytes(25_636_712 * 4) == "97.8 MiB"
