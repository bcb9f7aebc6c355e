"""Running a learner's PyTorch code on cases stored as numpy arrays.

Cases stay plain numpy (so they can be shipped as JSON and handed across processes); these adapters turn
them into float64 tensors, build the learner's modules with *injected* weights (never from the random
generator), switch them to eval mode and call them without gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.registry import Case


def to_torch(value: Any) -> Any:
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, dict):
        return {name: to_torch(item) for name, item in value.items()}
    return value


def call_function(learner: Any, case: Case) -> Any:
    import torch

    with torch.no_grad():
        return learner(**to_torch(case))


def build_module(module_class: Any, init: dict[str, Any], state: dict[str, np.ndarray]) -> Any:
    """``module_class(**init)`` in float64 and eval mode, its parameters set to ``state``."""
    import torch

    module = module_class(**init)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"it should build a torch.nn.Module, but it built a {type(module).__name__}")
    module = module.double()
    found, wanted = sorted(module.state_dict()), sorted(state)
    if found != wanted:
        raise ValueError(
            f"the module's parameters are named {found}, but the exercise expects exactly {wanted} "
            "(the exercise text gives each one's name and shape)"
        )
    module.load_state_dict({name: torch.from_numpy(array.copy()) for name, array in state.items()})
    return module.eval()


def call_module(module_class: Any, case: Case) -> Any:
    """Case layout: ``{"init": constructor kwargs, "state": parameters, "inputs": forward kwargs}``."""
    import torch

    module = build_module(module_class, case["init"], case["state"])
    with torch.no_grad():
        return module(**to_torch(case["inputs"]))


def linear_state(rng: np.random.Generator, prefix: str, n_in: int, n_out: int) -> dict[str, np.ndarray]:
    """Weights for an ``nn.Linear(n_in, n_out)`` called ``prefix``, scaled like PyTorch's default init."""
    bound = 1 / np.sqrt(n_in)
    return {
        f"{prefix}.weight": rng.uniform(-bound, bound, size=(n_out, n_in)),
        f"{prefix}.bias": rng.uniform(-bound, bound, size=n_out),
    }
