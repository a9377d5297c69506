"""Demo data for Northwind Bank's help desk, built around the BANKING77 intents; see ``seed.demo_seed``."""
