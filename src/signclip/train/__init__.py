"""Contrastive training of SignCLIP models, one process or many through `torchrun` (DDP).

`config` holds TrainConfig and its `--set` overrides, `data` the training table and dataset,
`distributed` the process group and all-gather, `validation` retrieval on the validation split,
`checkpoint` the resumable checkpoints, `init` the model a run starts from (`init_from`, `freeze`), and
`loop` the Trainer, `result` the TrainResult every run returns; `tagger/` trains BIO segmenters
(`signclip segment train`) with the same config machinery. The names below are the entry points.
"""

from signclip.train.config import TrainConfig, TrainingError, load_train_config, metric_direction
from signclip.train.data import load_training_table
from signclip.train.loop import train
from signclip.train.result import TrainResult

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "load_train_config",
    "load_training_table",
    "metric_direction",
    "train",
]
