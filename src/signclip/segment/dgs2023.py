"""`dgs-2023`: the sign and sentence segmenter trained by sign-language-processing/segmentation on the
DGS Corpus (MIT licence; weights shipped in `weights/dgs-2023.safetensors`, notice beside them).

Architecture (that project's, reimplemented in tagger_net.py): Linear 225 -> 256, a one-layer bidirectional LSTM
(128 per direction, batch_first), two heads Linear 256 -> 3 (sign, sentence), log_softmax over O, B, I.
Input: the 75 points of POSE_LANDMARKS, LEFT_HAND_LANDMARKS, RIGHT_HAND_LANDMARKS (x, y, z) after
pose-format's shoulder normalization and with the legs hidden; missing points are zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from pose_format import Pose
from pose_format.utils.generic import pose_hide_legs, pose_normalization_info
from safetensors.torch import load_file

from signclip.errors import ModelFileError, PoseLayoutError
from signclip.poses import holistic
from signclip.segment.base import Segmenter
from signclip.segment.decoding import SENTENCE_DECODING, SIGN_DECODING, DecodingConfig, decode
from signclip.segment.segments import Segment, warn
from signclip.segment.tagger_net import BIOTagger

COMPONENTS = (holistic.BODY, holistic.LEFT_HAND, holistic.RIGHT_HAND)
POINTS = 75
WEIGHTS_NAME = "dgs-2023.safetensors"


def weights_path() -> Path:
    """Return the path of the shipped dgs-2023 safetensors file."""
    return Path(str(resources.files("signclip.segment") / "weights" / WEIGHTS_NAME))


def load_dgs2023_model(path: str | Path | None = None) -> BIOTagger:
    """Build the dgs-2023 BIOTagger and load its weights (default: the shipped file); eval mode."""
    path = Path(path) if path is not None else weights_path()
    if not path.is_file():
        raise ModelFileError(f"{path}: the dgs-2023 weights are missing (reinstall signclip)")
    model = BIOTagger()
    model.load_state_dict(load_file(path))
    return model.eval()


def check_layout(pose: Pose) -> None:
    """Raise PoseLayoutError when `pose` lacks what dgs-2023 needs (x, y, z of the 75 body and hand points)."""
    names = {c.name: c for c in pose.header.components}
    missing = [name for name in COMPONENTS if name not in names]
    dims = pose.body.data.shape[-1]
    problems = []
    if missing:
        problems.append(f"the components {missing} are missing (it has {list(names)})")
    elif any(len(names[n].points) != n_points for n, n_points in zip(COMPONENTS, (33, 21, 21), strict=True)):
        problems.append("its body/hand components do not have 33/21/21 points")
    if dims < 3:
        problems.append(f"it has {dims}D points, not x, y, z")
    if problems:
        raise PoseLayoutError(
            "dgs-2023 needs x, y, z of the 75 MediaPipe Holistic body and hand points "
            f"({', '.join(COMPONENTS)}), but {'; '.join(problems)}; use --segmenter motion for 2D or other layouts"
        )


def prepare_input(pose: Pose) -> np.ndarray:
    """Return the model input (frames, 75, 3) float32 for the first person of `pose`: pose-format's shoulder
    normalization (center and mean shoulder width over the sequence), then pose-format's `pose_hide_legs`
    (hips, knees, ankles, heels, feet zeroed), missing points zero."""
    check_layout(pose)
    selected = pose.get_components(list(COMPONENTS))
    selected.body.data = selected.body.data[:, :1, :, :3]
    selected.body.confidence = selected.body.confidence[:, :1]
    selected = selected.normalize(pose_normalization_info(selected.header))
    selected = pose_hide_legs(selected)
    data = np.ma.getdata(selected.body.data)[:, 0].astype(np.float32)
    present = selected.body.confidence[:, 0] > 0
    return np.where(present[..., None] & np.isfinite(data), data, 0.0).astype(np.float32)


@dataclass
class DGS2023Segmenter(Segmenter):
    """The dgs-2023 model with its authors' decoding (sign 60/50, sentence 90/90)."""

    sign_decoding: DecodingConfig = SIGN_DECODING
    sentence_decoding: DecodingConfig = SENTENCE_DECODING
    weights: str | None = None
    name: str = "dgs-2023"
    model: BIOTagger = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.model = load_dgs2023_model(self.weights)

    def to(self, device: str) -> DGS2023Segmenter:
        """Run the network on `device` from now on; returns self."""
        self.model.to(device)
        return self

    def log_probs(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Run the model on prepared inputs (frames, 75, 3); returns {level: (frames, 3) log-probabilities}."""
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(inputs))[None].to(device))
        return {level: value[0].cpu().numpy() for level, value in out.items()}

    def segment_levels(self, pose: Pose) -> dict[str, list[Segment]]:
        """Sign and sentence segments of `pose` (see the module docstring for the input it needs)."""
        inputs = prepare_input(pose)
        hands = inputs[:, 33:].reshape(len(inputs), -1)
        if not hands.any():
            warn(f"{self.name}: no hands in any of the {len(inputs)} frames; no segments")
            return {level: [] for level in self.levels}
        log_probs = self.log_probs(inputs)
        fps = float(pose.body.fps)
        return {
            "sign": decode(log_probs["sign"], self.sign_decoding, fps, "sign"),
            "sentence": decode(log_probs["sentence"], self.sentence_decoding, fps, "sentence"),
        }
