"""Reading and writing videos, datasets, results and exports."""
