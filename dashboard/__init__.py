"""Streamlit-only glue: resources, charts, memory probe, widgets. Pages stay thin."""
