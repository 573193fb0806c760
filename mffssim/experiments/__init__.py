"""The paper's experiments (Section III) as library functions that the workflow's experiment rules call."""
