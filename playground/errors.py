"""The one error type users see: it names *where* (a block, a file) and *which rule* failed."""
from __future__ import annotations


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first non-empty line of an exception's message (its type name if it has none),
    cut to ``limit`` characters: what a one-line error shows of an underlying failure."""
    text = str(exc).strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    return line if limit is None else line[:limit]


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
