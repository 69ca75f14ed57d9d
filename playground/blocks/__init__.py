"""The block library: one registry (``BLOCKS``) of every block type the playground offers."""
from playground.blocks.base import BLOCKS, CATEGORIES, BlockCtx, BlockType, Param, resolve_params
from playground.blocks import basic, composite, heads  # noqa: F401  (registration)

__all__ = ["BLOCKS", "CATEGORIES", "BlockCtx", "BlockType", "Param", "resolve_params"]
