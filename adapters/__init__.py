"""The built-in department adapters: pluggy plugins found through the hub.adapters entry points."""
