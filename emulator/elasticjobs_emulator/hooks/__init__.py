"""Airflow hooks of the emulator distribution (need its ``airflow`` extra)."""
