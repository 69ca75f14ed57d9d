"""Every zoo entry: the cost model's params equal Keras' count, and its reference figures hold.

Parametrized over the zoo registry, so a new entry is tested by adding it (timm / torchvision
style). The ``keras:`` entries build keras.applications models with random weights.
"""
import pytest

from playground.cached import analyze_spec
from playground.cost.headline import weight_depth
from playground.cost import analyze
from playground.zoo import ZOO

SPEC_ENTRIES = [n for n in ZOO.list() if ZOO.get(n).is_spec]
KERAS_ENTRIES = ZOO.list("keras:*")


def test_every_entry_is_checked_by_one_of_the_parametrized_tests():
    """A zoo entry is either a spec or a keras.applications model; one of neither kind would
    escape the reference checks below."""
    assert sorted(set(ZOO.list()) - set(SPEC_ENTRIES) - set(KERAS_ENTRIES)) == []
    assert set(SPEC_ENTRIES).isdisjoint(KERAS_ENTRIES)


def _check_reference(entry, report):
    ref = entry.ref
    if ref.params is not None:
        got = report.trainable_params if ref.trainable_only else report.params
        assert abs(got - ref.params) <= ref.params * ref.params_tol, (got, ref.params, ref.source)
    if ref.macs is not None:
        assert abs(report.macs - ref.macs) <= ref.macs * ref.macs_tol, (
            f"{entry.name}: {report.macs:,} MACs vs {ref.macs:,} ({ref.source})")


@pytest.mark.parametrize("name", SPEC_ENTRIES)
def test_spec_entry_params_and_reference(name):
    entry = ZOO.get(name)
    assert entry.ref.source, "every entry names the source of its figures"
    spec = entry.spec()
    from playground.cached import build_cached
    model = build_cached(spec)
    report = analyze_spec(spec)
    assert report.params == model.count_params()
    assert report.trainable_params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert report.uncounted == []
    _check_reference(entry, report)


@pytest.mark.slow
@pytest.mark.parametrize("name", KERAS_ENTRIES)
def test_keras_application_params_equal_the_lecture_table(name):
    entry = ZOO.get(name)
    model = entry.build()
    report = analyze(model)
    assert report.params == model.count_params() == entry.ref.params
    assert entry.ref.top1 and entry.ref.top5 and entry.ref.size_mb


def test_lecture_table_has_all_18_models():
    assert len(KERAS_ENTRIES) == 18
    assert ZOO.get("keras:NASNetLarge").ref.params == 88_949_818


@pytest.mark.parametrize("name, depth", [("vgg16", 16), ("vgg19", 19), ("resnet18", 18),
                                         ("resnet50", 50), ("resnet110-cifar", 110),
                                         ("plain56-cifar", 56)])
def test_depth_counts_weight_layers_on_the_longest_path(name, depth):
    assert weight_depth(analyze_spec(ZOO.get(name).spec())) == depth


def test_mobilenet_alpha_and_rho_shrink_the_cost():
    base = analyze_spec(ZOO.get("mobilenet").spec())
    thin = analyze_spec(ZOO.get("mobilenet").spec(alpha=0.75))
    small = analyze_spec(ZOO.get("mobilenet").spec(rho=0.714))
    assert thin.macs < base.macs and thin.params < base.params
    assert small.params == base.params and small.macs < 0.6 * base.macs
    assert ZOO.get("mobilenet").spec(rho=0.714).input_shape == (160, 160, 3)


def test_unknown_zoo_option_is_a_spec_error():
    from playground.errors import SpecError
    with pytest.raises(SpecError, match="unknown option"):
        ZOO.get("vgg16").spec(alpha=2)


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO.list())
def test_code_export_round_trips_for_every_entry(name):
    """Executing the generated Keras source rebuilds the same layer graph and parameter count."""
    from playground.cached import build_cached
    from playground.codegen import model_structure, model_to_source, source_to_model
    entry = ZOO.get(name)
    model = build_cached(entry.spec()) if entry.is_spec else entry.build()
    rebuilt = source_to_model(model_to_source(model))
    assert model_structure(rebuilt) == model_structure(model)
    assert rebuilt.count_params() == model.count_params()
