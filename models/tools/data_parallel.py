"""Data-parallel training on the CPU: one process per core, each on its own share of a step's scenes.

On this model a step is mostly matrix products too small for a second intra-op thread to pay (it made a step
about 5 % faster), while a second process on a second core draws and trains on as many scenes again. The processes
start from the same weights, average their gradients before every optimiser step (gloo, rendezvous through a file:
no network), and so stay identical; the first one logs, saves and exports.
"""
from __future__ import annotations

import torch
import torch.distributed as dist


class Ranks:
    """This process's place among `procs` training processes (procs 1: a plain run, every method a no-op)."""

    def __init__(self, rank: int = 0, procs: int = 1, rendezvous: str | None = None):
        self.rank, self.procs = rank, procs
        if procs > 1:
            dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=procs)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> range:
        """This process's part of n items (n divisible by procs)."""
        if n % self.procs:
            raise ValueError(f"{n} items cannot be split evenly between {self.procs} processes")
        size = n // self.procs
        return range(self.rank * size, (self.rank + 1) * size)

    def align(self, module: torch.nn.Module) -> None:
        """Every process takes the first one's weights."""
        if self.procs > 1:
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, 0)

    def average(self, params: list[torch.nn.Parameter], loss: torch.Tensor) -> float:
        """Replaces each gradient by its mean over the processes (one call for all); returns the mean loss."""
        if self.procs == 1:
            return loss.item()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads] + [loss.detach().reshape(1)])
        dist.all_reduce(flat)
        flat /= self.procs
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset:offset + g.numel()].view_as(g)
            offset += g.numel()
        return float(flat[-1])

    def decide(self, value: float) -> float:
        """The first process's value, so that all take the same branch (a time budget runs out once for all)."""
        if self.procs == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.broadcast(t, 0)
        return float(t)

    def check_same(self, module: torch.nn.Module) -> None:
        """Fails loudly if the processes' weights drifted apart (gradients not averaged somewhere)."""
        if self.procs == 1:
            return
        total = torch.tensor([float(sum(t.double().sum() for t in module.state_dict().values()))],
                             dtype=torch.float64)
        low, high = total.clone(), total.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        if float(low) != float(high):
            raise RuntimeError(f"training processes diverged: weight sums {float(low)} and {float(high)}")

    def close(self) -> None:
        if self.procs > 1:
            dist.destroy_process_group()
