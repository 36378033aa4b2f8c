"""Curation of a model by its maintainers and by publishers: aliases of versions and the
optional approval of public publications (docs/catalog.md, "Aliases", "Publish approval")."""
