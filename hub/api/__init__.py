"""The HTTP API the center's frontend and operators call: versioned JSON, errors as problem+json;
the app that serves it beside the console.

Imports any package below it (`hub.console` and `hub.runtime` included); only `hub.cli` and the
kit import it. With the console and the runtime, the only importer of aiohttp's web server.
"""
