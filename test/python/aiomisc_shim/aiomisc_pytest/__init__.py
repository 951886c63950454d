"""A stand-in for aiomisc's pytest plugin (the `aiomisc_pytest` package), written for Warren so that
aiormq's own test suite runs where aiomisc cannot be installed. See ../README.md."""
