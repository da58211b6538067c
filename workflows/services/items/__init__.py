"""Per-item code of the 零跑动 catalogue (docs/services.md 办理类型): one module per 办理类型 that needs more than the
generic flow — its form fields, checks, records and result — plugged into the flow through items.registry."""
