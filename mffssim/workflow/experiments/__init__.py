"""The paper's experiments (Section III) as functions the workflow's `experiments` target calls.

Modules (each imported on its own, so a rule that needs one table never loads the others):

* :mod:`mffssim.workflow.experiments.tables`: Table I per data set in the paper's layout with the paper's own MFFW
  numbers beside ours, and the K > 2 table and figure (Fig. 12).
* :mod:`mffssim.workflow.experiments.agreement`: our reference-variant MS-Lap against the authors' published MS-Lap
  images (PSNR between the images, focus-map agreement), per pair and per data set, targets marked.
* :mod:`mffssim.workflow.experiments.summary`: ``results/experiments/SUMMARY.md``, one page from every study's outputs.

The ablation studies (robustness, window size, detector size, speed) add their own modules here; the csv,
markdown and text writers they share live in :mod:`mffssim.workflow.experiments.report_io`.
"""
