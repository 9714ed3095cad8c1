"""Small reusable widgets."""

from __future__ import annotations

import streamlit as st

from pipelines.settings import get_settings
from pipelines.taxonomy import Taxonomy
from pipelines.verdict import SENSITIVITIES


def sensitivity_controls(taxonomy: Taxonomy, key: str) -> tuple[str, set[str]]:
    """Sensitivity preset and per-concern switches; verdicts re-derive from stored scores."""
    default = get_settings().discern_sensitivity
    with st.expander("Sensitivity", expanded=False, icon=":material/tune:"):
        sensitivity = st.segmented_control(
            "Preset", SENSITIVITIES, default=default if default in SENSITIVITIES else "balanced", key=f"{key}-preset"
        ) or "balanced"
        columns = st.columns(3)
        enabled = {
            concern.key
            for i, concern in enumerate(taxonomy.concerns)
            if columns[i % 3].toggle(concern.name, value=True, key=f"{key}-concern-{concern.key}", help=concern.description)
        }
    return sensitivity, enabled
