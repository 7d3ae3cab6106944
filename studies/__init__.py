"""The built-in study specs, one TOML file each (installed as ``bench.studies``)."""
