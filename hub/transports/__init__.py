"""How adapters reach legacy systems: one aiohttp stack for SOAP and REST, every call recorded."""
