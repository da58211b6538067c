"""督查督办 (docs/supervision.md)."""
