"""The tamper-evident audit log: operator actions and lifecycle events, hash-chained
per writer (docs/audit.md, docs/decisions/0007-audit-chain.md)."""
