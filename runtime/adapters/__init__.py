"""Port implementations, one module per backend. Import the one you need directly."""
