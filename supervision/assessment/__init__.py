"""考核评价 一站通 (docs/assessment.md): one score per unit and period, combined from pluggable score sources
(sources.py) with weights the 督查室 sets (models.AssessmentWeight). Every number is computed from records."""
