"""Check logic the suites share: detectors and analysers with no pytest in them, unit-tested on their own."""
