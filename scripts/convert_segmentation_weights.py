"""Convert the TorchScript sign/sentence segmenter of sign-language-processing/segmentation to safetensors.

Run once (the result ships in the package, so signclip never needs torch.jit at run time):

    python scripts/convert_segmentation_weights.py ../shared/models/sign-segmentation-2023/model.pth \
        src/signclip/segment/weights/dgs-2023.safetensors

Keeps the weights of the projection, the LSTM and the two heads (the NLLLoss class weights are for
training only), checks they load into signclip's BIOTagger, and that both give the same output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import save_file

from signclip.segment.tagger_net import BIOTagger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("torchscript", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    scripted = torch.jit.load(str(args.torchscript), map_location="cpu").eval()
    model = BIOTagger()
    state = {k: v.detach().clone().contiguous() for k, v in scripted.state_dict().items() if k in model.state_dict()}
    model.load_state_dict(state)  # strict: every weight of our module is there, with its shape
    x = torch.randn(2, 50, 75, 3)
    with torch.inference_mode():
        theirs, ours = scripted(x), model.eval()(x)
    for level in ("sign", "sentence"):
        difference = (theirs[level] - ours[level]).abs().max().item()
        print(f"{level}: max |difference| on random input {difference:.2e}")
        assert difference < 1e-5
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.output), metadata={"source": "sign-language-processing/segmentation@5abf908 (MIT)"})
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes, {sum(v.numel() for v in state.values())} numbers)")


if __name__ == "__main__":
    main()
