"""Decision policies of sanding_rules: structural actions from findings, grades and measurements."""
