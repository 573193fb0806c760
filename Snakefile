# mffssim: multi-focus image fusion by MFF-SSIM optimisation (Xu et al., IEEE TCI 2020).
# Default run: `snakemake --cores all` (embedded data, offline). Full reproduction:
# `snakemake --cores all --configfile config/full.yaml`. Report: `snakemake --report report.html`.
# Targets `experiments` (config/experiments.yaml) and `quality` (config/quality.yaml) go before --configfile.
# The rules live in rules/*.smk, one file per stage; this file holds no rule bodies.
import os
from pathlib import Path

from snakemake.utils import min_version

min_version("8.0")

# envs/*.yaml install this checkout into their conda environments (`-e ${MFFSSIM_ROOT}`, expanded by pip when
# conda creates them; a path relative to the env file would not do, see envs/mffssim.yaml). Set here, never read
# from the user, so it is no `envvars:` entry.
os.environ.update(MFFSSIM_ROOT=str(Path(workflow.basedir).resolve()))


# the defaults beside this Snakefile, whatever the working directory (--directory); --configfile overrides
configfile: Path(workflow.basedir) / "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/ranking_common.smk"
include: "rules/data.smk"
include: "rules/detector.smk"
include: "rules/focus.smk"
include: "rules/fusion.smk"
include: "rules/align.smk"
include: "rules/metrics.smk"
include: "rules/report.smk"
include: "rules/ablations.smk"
include: "rules/experiments.smk"
include: "rules/quality.smk"
include: "rules/ranking.smk"


check_detectors()


rule all:
    default_target: True
    input:
        final_outputs(),
