"""L2: experiment protocols, headless sessions and their analyses."""
