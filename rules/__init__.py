"""The built-in rules of sanding_rules: one YAML file per rule, cases beside it."""
