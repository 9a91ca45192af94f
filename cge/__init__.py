"""cge: a calibrated multi-region Armington CGE trade model (Pyomo + Ipopt via cyipopt)."""

__version__ = "0.1.0"
