"""The operators' web console at /console: server-rendered pages, a little script, no CDN."""
