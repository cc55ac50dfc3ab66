"""sanding_rules: check public-sector staffing against its three determinations (三定)."""

__version__ = "0.1.0"
