"""How users describe work: asset-task decorators, the process builder and definitions.

Imports the engine (to run what it builds), the model and the leaves; never the CLI.
"""
