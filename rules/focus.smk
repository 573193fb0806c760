# Focus maps per image set: `lap` (Laplacian energy, Eq. 15) and `given` (the set's annotated map).
# `resnet` maps come from rules/detector.smk.


rule focus_map:
    input:
        unpack(set_inputs),
    output:
        focus_map="results/{dataset}/{set}/maps/{detector}.png",
    log:
        "logs/focus/{dataset}/{set}/{detector}.log",
    benchmark:
        "results/benchmarks/focus/{dataset}/{set}/{detector}.tsv"
    wildcard_constraints:
        detector="lap|given",
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        window_ratio=config["focus"]["window_ratio"],
        window_cap=config["focus"]["window_cap"],
    script:
        "../scripts/focus_map.py"
