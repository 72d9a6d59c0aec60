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


def init_params(model: nn.Module, act_fn_name: str, mode: str = "fan_in") -> None:
    """The tutorial's initialisation: Kaiming-normal convolutions matched to the
    activation, and BatchNorm layers that start as the identity."""
    nonlinearity = kaiming_nonlinearity(act_fn_name)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity=nonlinearity)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
