"""Measured speed and memory on this machine, beside the cost model's figures.

* :mod:`~playground.measure.timing` - the timing method (warm-up excluded, results waited for,
  median / p90 / spread over repeats);
* :mod:`~playground.measure.latency` - inference latency and training step time, compiled the
  backend's fastest way;
* :mod:`~playground.measure.memory` - peak memory measured vs estimated; the "will it fit"
  pre-flight (:func:`~playground.measure.memory.fit_check`);
* :mod:`~playground.measure.layers` - per-layer time beside per-layer MACs;
* :mod:`~playground.measure.roofline` - peak MAC rate and bandwidth (micro-benchmarks cached
  per machine), arithmetic intensity, compute- vs memory-bound;
* :mod:`~playground.measure.machine` - the machine key measurements are stored under;
* :mod:`~playground.measure.runner` - one whole measurement of an architecture;
* :mod:`~playground.measure.records` - measurements in the run store, measuring in a fresh
  process;
* :mod:`~playground.measure.charts` - the plotly figures of all of it.

Importing this package loads neither Keras nor a backend; the functions that time things do.
"""
