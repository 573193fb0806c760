# Figures for the report: a panel per image set (sources, map, fused images, zoomed crop at a focus
# boundary) and the convergence curves of Q per data set.


rule set_panel:
    input:
        unpack(set_inputs),
        focus_map=lambda wc: f"results/{wc.dataset}/{wc.set}/maps/{index_detector(wc.dataset, wc.set)}.png",
        fused=lambda wc: [f"results/{wc.dataset}/{wc.set}/{m}/fused.png" for m in panel_methods(wc.dataset, wc.set)],
    output:
        panel=report(
            "results/figures/{dataset}/panel_{set}.png",
            caption="../report/panel.rst",
            category="Figures",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "set": "{set}", "figure": "panel"},
        ),
    log:
        "logs/figures/{dataset}/{set}.log",
    benchmark:
        "results/benchmarks/figures/{dataset}/{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        methods=lambda wc: panel_methods(wc.dataset, wc.set),
        crop=config["figures"]["crop"],
    script:
        "../scripts/panel.py"


rule convergence:
    input:
        trace_files,
    output:
        plot=report(
            "results/figures/{dataset}/convergence.png",
            caption="../report/convergence.rst",
            category="Figures",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "set": "all", "figure": "convergence"},
        ),
    log:
        "logs/figures/{dataset}/convergence.log",
    benchmark:
        "results/benchmarks/figures/{dataset}/convergence.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/convergence.py"
