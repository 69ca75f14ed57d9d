"""The one error type users see: it names *where* (a block, a file) and *which rule* failed."""
from __future__ import annotations


class SpecError(ValueError):
    """Invalid architecture input: a spec, a block's parameters, or a model file.

    ``where`` names the offending block or file (e.g. ``"block 'conv3' (conv)"``) and ``rule``
    says what was wrong, so the UI can show the message next to that block and the CLI can print
    it on one line.
    """

    def __init__(self, where: str, rule: str, block: str | None = None) -> None:
        self.where = where
        self.rule = rule
        self.block = block
        super().__init__(f"{where}: {rule}")
