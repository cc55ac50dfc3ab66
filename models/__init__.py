"""The evaluation models of sanding_rules: the default model, and the place for regions' own."""
