"""The one small Streamlit layer: shared state, filters bound to the URL, and components.

Only the entry point and the page scripts import this package; the engine never does.
"""
