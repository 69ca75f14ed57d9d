"""Training runs: the job's options (:class:`TrainConfig`), the run itself (``job``) and the
background worker processes that run it (``worker``)."""
from playground.train.config import TrainConfig, installed_backends

__all__ = ["TrainConfig", "installed_backends"]
