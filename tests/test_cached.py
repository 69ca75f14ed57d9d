"""playground.cached: built models and cost reports cached per spec (functools caches keyed by
the hashable spec) or per zoo entry / .keras file."""
from playground import cached
from playground.spec import ArchSpec
from playground.targets import resolve


def small_spec(filters: int = 4) -> ArchSpec:
    return ArchSpec.from_dict({"name": "tiny", "input_shape": [16, 16, 3], "blocks": [
        {"type": "conv", "params": {"filters": filters}}],
        "head": {"type": "gap_head", "params": {"classes": 3}}})


def test_an_equal_spec_is_served_from_the_cache():
    cached.clear()
    spec = small_spec()
    report = cached.analyze_spec(spec)
    again = ArchSpec.from_json(spec.to_json())
    assert cached.analyze_spec(again) is report
    assert cached.analyze_spec(small_spec(5)) is not report
    assert cached.analysis_model(again) is cached.analysis_model(spec)
    assert cached.build_cached(again) is cached.build_cached(spec)


def test_batch_rescales_one_walk():
    cached.clear()
    spec = small_spec()
    one = cached.analyze_spec(spec)
    eight = cached.analyze_spec(spec, 8)
    assert eight is cached.analyze_spec(spec, 8) and eight.batch == 8
    assert eight.peak_activation_bytes == 8 * one.peak_activation_bytes
    assert eight.layers is one.layers  # the same walk, memory figures rescaled
    assert cached.analyze_spec(spec, 1, "sgd").optimizer == "sgd"


def test_targets_share_the_caches():
    cached.clear()
    spec_target = resolve("lenet5")
    assert cached.analyze_target(spec_target) is cached.analyze_spec(spec_target.spec)
    assert cached.model_for(spec_target) is cached.build_cached(spec_target.spec)


def test_a_keras_file_is_reloaded_when_it_changes(tmp_path):
    cached.clear()
    path = tmp_path / "m.keras"
    cached.build_cached(small_spec()).save(path)
    target = resolve(str(path))
    first = cached.model_for(target)
    assert cached.model_for(resolve(str(path))) is first
    assert cached.analyze_target(target).params == first.count_params()
    import os
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cached.model_for(resolve(str(path))) is not first
