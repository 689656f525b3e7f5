"""Shipped inside the package as ``scraper._config`` so a plain ``pip install .`` carries the config."""
