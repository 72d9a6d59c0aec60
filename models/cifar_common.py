"""Helpers shared by the CIFAR-10 architectures of the UvA tutorial 5 (seed 001)."""

from typing import Callable, Dict

from torch import nn

# Activation constructors selectable by name, as in the tutorial's hyper-parameters.
ACT_FN_BY_NAME: Dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leakyrelu": nn.LeakyReLU,
    "gelu": nn.GELU,
}


def kaiming_nonlinearity(act_fn_name: str) -> str:
    """Name that nn.init.kaiming_normal_ understands for one of ACT_FN_BY_NAME's keys.

    kaiming_normal_ has no gain for GELU, so it is treated like ReLU, and the
    leaky variant is spelled "leaky_relu" there.
    """
    return {"gelu": "relu", "leakyrelu": "leaky_relu"}.get(act_fn_name, act_fn_name)
