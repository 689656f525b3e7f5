"""Site profiles, one TOML file per site."""
