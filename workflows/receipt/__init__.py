"""收文办理 (ReceiptFlow): 签收 → 登记 → 初审 → 拟办 → 批办 → 承办 → 传阅 → 办结 → 归档 (docs/receipt.md)."""
