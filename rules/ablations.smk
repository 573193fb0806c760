# The paper's ablations and studies (Section III): robustness to map errors (Fig. 7), window size
# (Figs. 9-11), detector depth and width (Fig. 8), speed vs image size and window.


def ablation_targets():
    """Outputs of the ablation studies that the target `experiments` asks for."""
    return []
