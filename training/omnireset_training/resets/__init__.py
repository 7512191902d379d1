"""Reset-state generation: grasps, partial assemblies and the four reset datasets of OmniReset."""
