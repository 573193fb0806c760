# Data sets: the embedded synthetic one (made offline) and the downloaded ones (manifests + mirror).
# Each rule writes <data_dir>/<dataset>.sets.tsv, the index of the image sets it made, once complete.
# Both make the whole data set (a few seconds here; downloads skip verified files), so choosing a subset
# with config `sets` never reruns them.


rule embedded_dataset:
    output:
        index=f"{DATA}/embedded.sets.tsv",
    log:
        "logs/data/embedded.log",
    benchmark:
        "results/benchmarks/data/embedded.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        dest=lambda wildcards, output: output.index[: -len(".sets.tsv")],
        seed=config["embedded"]["seed"],
        size=config["embedded"]["size"],
    script:
        "../scripts/make_embedded.py"


rule download_dataset:
    output:
        index=f"{DATA}/{{downloadable}}.sets.tsv",
    log:
        "logs/data/download_{downloadable}.log",
    benchmark:
        "results/benchmarks/data/download_{downloadable}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,
    params:
        dest=lambda wildcards, output: output.index[: -len(".sets.tsv")],
        mirror=config["download"]["mirror"],
        retries=config["download"]["retries"],
    script:
        "../scripts/download.py"
