"""Prefect Blocks holding Tamma's provider and platform settings, with secrets as SecretStr.

Why: on Prefect work pools the same keys and tokens would otherwise be set on every worker
machine; saved once as blocks in the Prefect server, every flow run can read them.

    TammaPlatformBlock(kind="github", token=SecretStr(token)).save("tamma-github")
    secret_from_blocks("platform", "github")   # -> the token, or None

Blocks hand out plain settings models and secret strings; adapters never receive a block.
Importing this package imports Prefect (about a second): import it where Prefect is needed.
"""

from __future__ import annotations

from blocks._blocks import TammaPlatformBlock, TammaProviderBlock, document_name_for
from blocks._lookup import LOOKUP_TIMEOUT_S, load_block, secret_from_blocks

__all__ = [
    "LOOKUP_TIMEOUT_S",
    "TammaPlatformBlock",
    "TammaProviderBlock",
    "document_name_for",
    "load_block",
    "secret_from_blocks",
]
