"""tdpr: phase repair for time-domain CNNs in music super-resolution.

A reproduction of Zhang, Kolkman and Watanabe (2024). The package holds every piece of logic
(data, degradations, models, training, phase repair, metrics, reporting); the Snakemake workflow
in ``workflow/`` only wires these pieces together.
"""

__version__ = "0.1.0"

#: The working sample rate of every model and metric (Part A1 of the reference spec).
SAMPLE_RATE = 16_000
