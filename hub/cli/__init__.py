"""The `hub` command: serving (main), operators' commands (operations), their shared options
(support) and the demo.

The top of the hub: may import any of its packages; the only importer of click.
"""
