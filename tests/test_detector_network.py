"""FocusNet architecture: the paper's parameter count, shapes, output range and receptive field."""
import pytest
import torch

from mffssim.detector.network import FocusNet, count_parameters


def test_paper_network_has_the_authors_parameter_count():
    assert count_parameters(FocusNet(width=128, blocks=8)) == 2_367_104


def test_parameter_count_formula_for_small_networks():
    # trunk conv 9F + BN 2F, per block 18F^2 + 4F, head 18F; no biases anywhere
    for width, blocks in [(4, 0), (8, 2), (16, 3)]:
        expected = 9 * width + 2 * width + blocks * (18 * width**2 + 4 * width) + 18 * width
        assert count_parameters(FocusNet(width, blocks)) == expected
    assert all(m.bias is None for m in FocusNet(8, 2).modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.parametrize("shape", [(2, 1, 17, 23), (1, 1, 2, 5)])
def test_output_shape_and_range(shape):
    torch.manual_seed(0)
    model = FocusNet(width=6, blocks=2)
    with torch.no_grad():
        out = model(torch.rand(shape), torch.rand(shape))
    assert out.shape == shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_receptive_field_is_the_halo():
    torch.manual_seed(1)
    model = FocusNet(width=4, blocks=2).eval()
    x1, x2 = torch.rand(1, 1, 41, 41), torch.rand(1, 1, 41, 41)
    base = model(x1, x2)
    x1[0, 0, 20, 20] += 0.5
    changed = (model(x1, x2) - base).abs()[0, 0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert model.halo == 6
    assert int((rows - 20).abs().max()) == model.halo and int((cols - 20).abs().max()) == model.halo


def test_bad_input_is_rejected():
    model = FocusNet(width=4, blocks=1)
    with pytest.raises(ValueError, match="two \\(N, 1, H, W\\)"):
        model(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="width >= 1"):
        FocusNet(width=0, blocks=1)
