"""Cross-cutting plugins that are not departments (notifications, audit export, …)."""
