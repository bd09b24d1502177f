"""Figures, tables and reports of ionscope results."""
