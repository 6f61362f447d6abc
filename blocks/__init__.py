"""Prefect Blocks holding provider and platform settings, secrets as SecretStr.

Filled by the orchestration work; see ARCHITECTURE.md, "Prefect".
"""
