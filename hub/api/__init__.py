"""The HTTP API the center's frontend and operators call: versioned JSON, errors as problem+json."""
