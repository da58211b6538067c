"""公文交换: the inter-agency exchange package (format in docs/exchange.md)."""
