"""Altair chart builders. Every chart in the site and the exports is built here, in one theme."""
