"""The pure core: parse -> module table -> input discovery -> shape flow -> findings.

No I/O, no pygls, no torch: a function of the text (and options) only.
"""
