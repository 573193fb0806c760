# Registration of focus stacks: the aligned data sets `<name>_aligned` (config align.datasets)
# and `folder` with folder.align, and other programs' published results as comparison methods.


rule align_set:
    input:
        unpack(lambda wc: base_set_inputs(wc.base, wc.set)),
    output:
        folder=directory(f"{DATA}/aligned/{{base}}/{{set}}"),
    log:
        "logs/align/{base}/{set}.log",
    benchmark:
        "results/benchmarks/align/{base}/{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        set_dir=lambda wc: base_set_dir(wc.base, wc.set),
        model=config["align"]["model"],
        match_brightness=config["align"]["match_brightness"],
        crop=config["align"]["crop"],
    script:
        "../scripts/align_set.py"


rule comparison_result:
    input:
        unpack(set_inputs),
    output:
        fused="results/{dataset}/{set}/{comparison}/fused.png",
    log:
        "logs/fusion/{dataset}/{set}/{comparison}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/{comparison}.tsv"
    wildcard_constraints:
        comparison="focus_stack",
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        result=lambda wc: comparison_methods(wc.dataset, wc.set)[wc.comparison],
        base_dir=lambda wc: base_set_dir(wc.dataset, wc.set),
        aligned=lambda wc: is_aligned(wc.dataset),
    script:
        "../scripts/comparison_result.py"
