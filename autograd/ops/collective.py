"""Collectives that are recorded, for layers that compute across ranks (SyncBatchNorm)."""

from __future__ import annotations

from ..function import Primitive


class AllReduceSum(Primitive):
    """The sum over ranks of each rank's x, the same on every rank. Every rank's input reaches
    every rank's output with weight 1, so the VJP is the same sum of the ranks' output
    gradients: each rank's backward takes part in one all-reduce, as its forward did."""

    @staticmethod
    def forward(ctx, x):
        from .. import distributed

        total = x.copy()  # all_reduce works in place (a method: ag.compile records it)
        distributed.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad):
        return AllReduceSum.apply(grad)
