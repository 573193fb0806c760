# The ResNet focus-map detector (issue "ResNet focus-map detector") joins here: rules that synthesise
# training pairs, train the network and write results/{dataset}/{set}/maps/resnet.png for
# rules/fusion.smk. Until then no rule provides `resnet` maps, and asking for them fails at parse time.

RESNET_RULES = False
