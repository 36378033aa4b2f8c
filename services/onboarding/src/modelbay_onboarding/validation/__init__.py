"""Validating an uploaded bundle: archive safety, manifest, files, descriptors, samples."""
