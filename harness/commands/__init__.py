"""The CLI's command modules, one per area."""
