"""System identification: chirp recordings and the CMA-ES fit of the joint dynamics."""
