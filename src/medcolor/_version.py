"""The package version (one home: the package, DICOM output and the CLI read it)."""
__version__ = "0.1.0"
