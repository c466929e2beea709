"""Several processes through `torchrun` (DDP): the process group, and the all-gather of embeddings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    """This process's place: rank, world size and device (from torchrun's environment)."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Distributed:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1): gloo on CPU, nccl on CUDA."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size == 1:
        return Distributed(device=device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def gather_with_grad(local: torch.Tensor, context: Distributed) -> torch.Tensor:
    """Concatenate `local` (B, ...) from every process in rank order; only the local slice keeps its gradient
    (as open_clip's gather_features), which DDP's gradient averaging then combines across processes."""
    if context.world_size == 1:
        return local
    gathered = [torch.zeros_like(local) for _ in range(context.world_size)]
    dist.all_gather(gathered, local.detach().contiguous())
    gathered[context.rank] = local
    return torch.cat(gathered)
