"""PyTorch training for the three stages (needs the ``train`` extra)."""
