# The paper's experiments as workflow targets: Table I per data set, agreement with the authors'
# published images, K > 2 sources, and results/experiments/SUMMARY.md (target `experiments`).


rule experiments:
    input:
        lambda wc: ablation_targets(),
