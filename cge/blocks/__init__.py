"""Economic blocks of the model, one module each; ``cge.model`` calls them in a fixed order."""
