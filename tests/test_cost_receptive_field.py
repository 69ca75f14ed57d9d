"""Receptive-field maths (playground.cost.receptive_field) against hand-computed values."""
from fractions import Fraction

from playground.cost.receptive_field import (Field, field_values, fresh, input_field, merge,
                                             propagate, whole)


def conv(base, out_shape, k, s=1, d=1):
    return propagate(base, out_shape, window=((k, s, d), (k, s, d)))


def test_input_field_is_one_pixel_at_stride_one():
    assert input_field((32, 32, 3)) == Field((1, 1), (1, 1), (32, 32))
    assert input_field((100, 8)) == Field((1,), (1,), (100,))  # a sequence: one spatial axis
    assert input_field((10,)) is None  # features only: no spatial axis


def test_two_3x3_convs_see_5x5():
    f = conv(input_field((32, 32, 3)), (32, 32, 8), 3)
    assert f.rf == (3, 3) and f.jump == (1, 1)
    f = conv(f, (32, 32, 8), 3)
    assert f.rf == (5, 5) and f.jump == (1, 1)


def test_stem_7x7_s2_then_3x3_s2_pool():
    # rf 1 + 6*1 = 7, jump 2; then 7 + 2*2 = 11, jump 4 (the ResNet stem)
    f = conv(input_field((224, 224, 3)), (112, 112, 64), 7, 2)
    assert f.rf == (7, 7) and f.jump == (2, 2)
    f = conv(f, (56, 56, 64), 3, 2)
    assert f.rf == (11, 11) and f.jump == (4, 4)
    assert f.size == (224, 224)


def test_dilation_widens_the_kernel():
    f = conv(input_field((32, 32, 3)), (32, 32, 4), 3, 1, 2)  # k_eff = (3-1)*2+1 = 5
    assert f.rf == (5, 5)


def test_upsampling_scales_the_stride_only():
    f = conv(input_field((32, 32, 3)), (16, 16, 4), 2, 2)  # rf 2, jump 2
    up = propagate(f, (32, 32, 4), scale=(Fraction(1, 2), Fraction(1, 2)))
    assert up.rf == (2, 2) and up.jump == (1, 1)
    after = conv(up, (32, 32, 4), 3)  # 2 + 2*1
    assert after.rf == (4, 4)


def test_merge_takes_the_per_axis_maximum():
    a = Field((3, 7), (1, 2), (32, 32))
    b = Field((5, 5), (2, 1), (32, None))
    assert merge([a, b]) == Field((5, 7), (2, 2), (32, 32))
    assert merge([a, None]) is a
    assert merge([None, None]) is None
    assert merge([a, Field((9,), (1,), (32,))]) is a  # another spatial rank is left out


def test_global_pooling_sees_the_whole_input_and_stays_global():
    f = conv(input_field((32, 24, 3)), (32, 24, 8), 3)
    g = propagate(f, (8,), global_field=True)
    assert g == Field((32, 24), None, (32, 24))
    assert field_values(g) == ((32, 24), None)
    # anything downstream of a global view still sees the whole input
    assert propagate(g, (10,)) is g
    assert propagate(g, (4, 4, 2), window=((3, 1, 1), (3, 1, 1))) is g


def test_whole_keeps_the_field_where_the_size_is_unknown():
    assert whole(Field((7, 9), (2, 2), (None, 32))) == (7, 32)


def test_rank_one_output_without_a_spatial_input_has_no_field():
    assert propagate(None, (10,)) is None
    assert field_values(None) == (None, None)


def test_reshape_restarts_the_field():
    f = conv(input_field((32, 32, 3)), (30, 30, 4), 3)
    r = propagate(f, (900, 4), reset=True)
    assert r == fresh((900,))


def test_a_layer_without_a_window_keeps_the_field():
    f = conv(input_field((32, 32, 3)), (32, 32, 4), 3)
    assert propagate(f, (32, 32, 4)) is f  # BatchNorm, ReLU...


def test_channels_first_reads_the_spatial_axes_after_the_channels():
    base = input_field((32, 32, 3))  # model input measured channels-last
    f = propagate(base, (8, 16, 16), data_format="channels_first", window=((3, 2, 1), (3, 2, 1)))
    assert f.rf == (3, 3) and f.jump == (2, 2)


def test_field_values_are_plain_numbers():
    rf, stride = field_values(Field((Fraction(6, 2), 4), (Fraction(1, 2), 1), (32, 32)))
    assert rf == (3, 4) and type(rf[0]) is int
    assert stride == (0.5, 1)
