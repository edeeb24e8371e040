"""Canary identifiers planted in the raw extracts by the reporting tests: none may reach any output."""

CANARIES = ("Zebediahqx", "Quillfeatherby", "ZX987654A", "OC-7319024", "zebediahqx", "QUILLFEATHERBY")
