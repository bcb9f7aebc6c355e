"""An answer may not call the library function its exercise asks the learner to write."""

import importlib.util
import textwrap

import pytest

from course_lib import check
from course_lib.checking import ExerciseFailed
from course_lib.policy import forbidden_uses

LAYER_NORM_BY_LIBRARY = textwrap.dedent(
    """
    import torch.nn.functional as F
    from torch import nn


    class LayerNorm(nn.Module):
        def __init__(self, d_model, eps=1e-5):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d_model))
            self.bias = nn.Parameter(torch.zeros(d_model))
            self.eps = eps

        def forward(self, x):
            return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
    """
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("y = F.layer_norm(x, shape)", ["F.layer_norm"]),
        ("y = torch.nn.functional.layer_norm(x, shape)", ["torch.nn.functional.layer_norm"]),
        ("from torch.nn.functional import layer_norm", ["from torch.nn.functional import layer_norm"]),
        ("norm = nn.LayerNorm(8)", ["nn.LayerNorm"]),
        ("class LayerNorm(nn.Module):\n    pass\nnorm = LayerNorm(8)", []),
        ("def layer_norm(x):\n    return x", []),
        ("this is not python", []),
    ],
)
def test_forbidden_uses_reads_the_source(source, expected):
    assert forbidden_uses(source, ("layer_norm", "LayerNorm")) == expected


def test_check_refuses_the_library_layer_norm(tmp_path):
    module_file = tmp_path / "learner_layer_norm.py"
    module_file.write_text("import torch\n" + LAYER_NORM_BY_LIBRARY)
    spec = importlib.util.spec_from_file_location("learner_layer_norm", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(ExerciseFailed, match="uses `F.layer_norm`"):
        check("layer_norm", module.LayerNorm)
