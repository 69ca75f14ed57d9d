"""Command line: ``python -m playground {zoo,cost,export,graph}`` (also the ``playground`` script).

Bad input never shows a traceback: the error is printed on one line to stderr and the exit code
is 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from playground.errors import SpecError, first_line

EXPORT_FORMATS = ("keras-code", "keras", "onnx", "dot", "svg")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise UsageError(f"{self.prog}: {message}")


def _fmt(n: float) -> str:
    from playground.cost import format_count
    return format_count(n)


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# --- commands -------------------------------------------------------------------------------
def cmd_zoo(args: argparse.Namespace) -> int:
    from playground.zoo.summaries import summary_of
    from playground.zoo import ZOO

    rows = []
    for name in ZOO.list(args.filter):
        e = ZOO.get(name)
        row = {"name": name, "family": e.family, "input_shape": list(e.input_shape),
               "summary": e.summary}
        row.update(summary_of(name))
        row["reference"] = {k: v for k, v in vars(e.ref).items() if v not in (None, 0, 0.0, "")}
        rows.append(row)
        if not args.json:
            ishape = "x".join(map(str, e.input_shape))
            print(f"{name:<27} {e.family:<19} {ishape:>11} {_fmt(row['params']):>8} params "
                  f"{_fmt(row['macs']):>8} MACs  depth {row['depth']}", flush=True)
    if args.json:
        _print_json(rows)
    return 0


def _target(args: argparse.Namespace):
    from playground.targets import parse_shape, resolve
    shape = parse_shape(args.input) if getattr(args, "input", None) else None
    return resolve(args.target, shape)


def cmd_cost(args: argparse.Namespace) -> int:
    from playground.analysis import analyze_target
    if args.batch < 1:
        raise SpecError("--batch", f"must be a positive integer, got {args.batch}")
    report = analyze_target(_target(args), batch=args.batch, optimizer=args.optimizer)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.summary_table())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from playground.export import export_model
    from playground.analysis import model_for
    target = _target(args)
    obj = target.spec if target.spec is not None else model_for(target)
    export_model(obj, args.format, args.output)
    print(f"wrote {args.output} ({args.format})")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from playground.analysis import analyze_target, model_for
    from playground.graph import model_graph, to_dot
    target = _target(args)
    report = analyze_target(target)
    model = model_for(target)
    ann = {layer.name: layer.to_dict() for layer in report.layers}
    print(to_dot(model_graph(model, level=args.level, annotations=ann)))
    return 0


# --- parser -----------------------------------------------------------------------------------
def make_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="playground", description="ConvNet Architecture Playground")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    z = sub.add_parser("zoo", help="list the zoo with params and MACs")
    z.add_argument("--json", action="store_true")
    z.add_argument("--filter", default="*", help="shell pattern, e.g. 'resnet*'")
    z.set_defaults(func=cmd_zoo)

    def add_target(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("target", help="zoo name, spec .json file or .keras file")
        sp.add_argument("--input", help="input shape HxWxC (or L for sequences)")

    c = sub.add_parser("cost", help="per-layer cost table and totals")
    add_target(c)
    c.add_argument("--batch", type=int, default=1, help="batch size for the memory figures")
    c.add_argument("--optimizer", default="adam", help="optimizer for the training-memory estimate")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_cost)

    e = sub.add_parser("export", help="export Keras code, .keras, ONNX, DOT or SVG")
    add_target(e)
    e.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    e.add_argument("-o", "--output", required=True)
    e.set_defaults(func=cmd_export)

    g = sub.add_parser("graph", help="print the architecture graph as DOT")
    add_target(g)
    g.add_argument("--level", choices=("block", "layer"), default="block")
    g.set_defaults(func=cmd_graph)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from playground._env import import_keras_quietly

    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        import_keras_quietly()
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args)
    except (SpecError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:  # registry lookups: "unknown ... known: ..."
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"error: {first_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
