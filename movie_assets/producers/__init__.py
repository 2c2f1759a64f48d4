"""Producer implementations: offline media makers (default) and optional networked provider adapters.

Import from the submodules (`producers.registry` for the registry); this package imports nothing, so
loading one producer module never drags in the others.
"""
