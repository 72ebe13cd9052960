"""Runnable stand-ins for the departments' legacy systems, with fault injection."""
