"""Test support shared by every test layer: the running emulator and a static-token credential."""
