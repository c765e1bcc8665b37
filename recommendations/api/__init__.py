"""The recommendation API: similar, also-bought, for-you, hybrid and trending lists, and the health report."""
