"""Training BIO tagger segmenters (`signclip segment train`): config, folds, one member's fit, decoding choice.

`load_segment_train_config(path, overrides)` reads a config as `signclip train` reads its own (one `--set`
parser, ConfigError naming the key); `train_tagger(config)` returns the shared TrainResult and raises the
shared TrainingError.
"""

from signclip.train.tagger.config import SegmentTrainConfig, load_segment_train_config
from signclip.train.tagger.run import train_tagger

__all__ = ["SegmentTrainConfig", "load_segment_train_config", "train_tagger"]
