"""Command line: ``python -m playground {zoo,cost,export,graph,train,sweep,finetune,runs,
measure,study}`` (also the ``playground`` script).

Bad input never shows a traceback: the error is printed on one line to stderr and the exit code
is 2.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
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
    from playground.cached import analyze_target
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
    from playground.cached import model_for
    target = _target(args)
    obj = target.spec if target.spec is not None else model_for(target)
    export_model(obj, args.format, args.output)
    print(f"wrote {args.output} ({args.format})")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from playground.cached import analyze_target, model_for
    from playground.graph import model_graph, to_dot
    target = _target(args)
    report = analyze_target(target)
    model = model_for(target)
    ann = {layer.name: layer.to_dict() for layer in report.layers}
    print(to_dot(model_graph(model, level=args.level, annotations=ann)))
    return 0


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def data_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--data-option KEY=VALUE`` flags as a dict (values parsed as JSON when they are)."""
    opts = {}
    for item in args.data_option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError("--data-option", f"{item!r} is not KEY=VALUE")
        opts[key.strip()] = _option_value(value)
    return opts


def train_config(args: argparse.Namespace) -> Any:
    """The TrainConfig the CLI's flags describe (a spec file is embedded as the spec)."""
    from playground.targets import load_spec_file
    from playground.train import TrainConfig
    opts = data_options(args)
    spec = None
    if args.target.lower().endswith(".json"):
        spec = load_spec_file(args.target).to_dict()
    return TrainConfig(
        target=args.target, spec=spec, dataset=args.dataset, dataset_options=opts,
        epochs=args.epochs, time_budget_s=args.time_budget, batch_size=args.batch,
        optimizer=args.optimizer, learning_rate=args.lr, schedule=args.schedule,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing, flip=args.flip,
        translate=args.translate, rotate=args.rotate, precision=args.precision, xla=args.xla,
        steps_per_execution=args.steps_per_execution, seed=args.seed, val_split=args.val_split,
        backend=args.backend, device=args.device, name=args.name or "").validate()


def cmd_train(args: argparse.Namespace, config: Any = None) -> int:
    from playground.store import RunStore
    from playground.train.runs import execute
    from playground.train.runs import create
    config = config or train_config(args)
    store = RunStore()
    run_id = create(config, store)
    if not args.json:
        print(f"run {run_id}: {config.architecture} on {config.dataset} "
              f"({config.backend}, {config.epochs} epochs)", flush=True)
    try:
        # Keras prints progress (e.g. "Downloading data from ...") on stdout: keep --json clean
        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            result = execute(config, store, run_id)
    except Exception as e:  # recorded as FAILED in the store; one line here
        rec = store.get(run_id)
        raise SpecError(f"run {run_id}", rec.error or first_line(e)) from None
    if args.json:
        _print_json(result)
    else:
        for key in ("status", "epochs_done", "loss", "accuracy", "val_loss", "val_accuracy",
                    "images_per_s", "train_seconds", "first_step_seconds",
                    "params", "macs", "backbone", "stop_reason"):
            if key not in result:
                continue
            value = result.get(key)
            shown = f"{value:.4f}" if isinstance(value, float) else value
            label = "val_accuracy (saved model)" if key == "val_accuracy" else key
            print(f"{label:<27} {shown}")
    for warning in result.get("warnings") or []:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _sweep_table(rows: list[dict[str, Any]]) -> None:
    from playground.train.sweeps import pm_text as pm
    print(f"{'architecture':<24} {'finished':>8} {'val acc (mean ± std)':>21} "
          f"{'min..max':>13} {'train loss (mean ± std)':>24}")
    for r in rows:
        span = ("" if r["val_accuracy_min"] is None else
                f"{r['val_accuracy_min']:.3f}..{r['val_accuracy_max']:.3f}")
        print(f"{r['architecture'][:24]:<24} {r['finished']:>4} / {r['runs']:<2} "
              f"{pm(r['val_accuracy'], r['val_accuracy_std'], '.3f'):>21} {span:>13} "
              f"{pm(r['train_loss'], r['train_loss_std'], '.4f'):>24}")


def cmd_sweep(args: argparse.Namespace) -> int:
    """Train several architectures on the same data, budget and seeds (a parent run with a
    child per architecture and seed, through the executor)."""
    from playground.store import RunStore
    from playground.train import sweeps
    from playground.train.config import TrainConfig
    store = RunStore()
    if args.cancel:
        was = sweeps.cancel(store, sweeps.status(store, args.cancel).sweep_id)
        print(f"cancel requested for sweep {args.cancel}" if was
              else f"sweep {args.cancel} is not active")
        return 0
    if args.status:
        sweep_id = args.status
    elif not args.architectures:
        raise SpecError("sweep", "name at least one architecture (zoo name or spec .json file)")
    else:
        arms = [sweeps.arm_of(name) for name in args.architectures]
        base = TrainConfig(dataset=args.dataset,
                           dataset_options=data_options(args), epochs=args.epochs,
                           batch_size=args.batch, learning_rate=args.lr,
                           backend=args.backend or os.environ.get("KERAS_BACKEND", "tensorflow"))
        sweep_id = sweeps.create(arms, base, args.seeds, store, name=args.name or "")
    now = sweeps.status(store, sweep_id)
    if not args.status and not args.json:
        print(f"sweep {sweep_id}: {len(now.labels)} architecture(s) x {len(now.seeds)} seed(s) "
              f"= {now.expected} runs on {args.dataset}, {args.epochs} epoch(s) each "
              "(on the Leaderboard; cancel: python -m playground sweep --cancel "
              f"{sweep_id})", flush=True)
    if args.wait:
        def tick(st: Any) -> None:
            print(f"{st.line()}", file=sys.stderr if args.json else sys.stdout, flush=True)
        try:
            now = sweeps.wait(store, sweep_id, on_change=tick)
        except KeyboardInterrupt:
            sweeps.cancel(store, sweep_id)
            raise SpecError(f"sweep {sweep_id}", "interrupted: its runs were cancelled") from None
    rows = sweeps.summary(now)
    if args.json:
        _print_json({**now.to_dict(), "summary": rows})
    else:
        if args.status:
            print(f"sweep {sweep_id} ({now.name}): {now.status.lower()}, {now.line()}")
        if now.ended:
            _sweep_table(rows)
    if args.wait and not now.active and now.status != "FINISHED":
        raise SpecError(f"sweep {sweep_id}", f"{now.status}: {now.error}")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Transfer learning in the foreground: the same job body as the page's worker."""
    from playground.train.recipes.transfer import transfer_config
    config = transfer_config(
        args.images, backbone=args.backbone, weights=args.weights, epochs=args.epochs,
        fine_tune_layers=args.fine_tune_layers, fine_tune_epochs=args.fine_tune_epochs,
        image_size=args.image_size, batch_size=args.batch, learning_rate=args.lr,
        aug_copies=args.aug_copies, flip=not args.no_flip, seed=args.seed,
        val_split=args.val_split, name=args.name or "",
        backend=os.environ.get("KERAS_BACKEND", "tensorflow")).validate()
    args.backend = config.backend
    return cmd_train(args, config)


def cmd_runs(args: argparse.Namespace) -> int:
    from playground import leaderboard
    from playground.store import RunStore
    from playground.train.executors import cancel
    store = RunStore()
    if args.cancel:
        was = cancel(args.cancel, store)
        print(f"cancel requested for {args.cancel}" if was else f"{args.cancel} is not active")
        return 0
    if args.delete:
        store.delete(args.delete)
        print(f"deleted {args.delete}")
        return 0
    rows = leaderboard.filter_rows(leaderboard.rows(store), args.filter or "",
                                   [args.status] if args.status else ())
    if args.json:
        _print_json(rows)
    elif args.csv:
        sys.stdout.write(leaderboard.to_csv(rows))
    else:
        import datetime as dt
        print(f"{'run':<8} {'architecture':<22} {'dataset':<13} {'params':>8} {'MACs':>8} "
              f"{'val acc':>8} {'secs':>7} {'img/s':>8} {'status':<9} started")
        def num(value: Any, fmt: str) -> str:
            return "" if value is None else format(value, fmt)

        for r in rows:
            started = (dt.datetime.fromtimestamp(r["started"]).strftime("%Y-%m-%d %H:%M")
                       if r["started"] else "")
            print(f"{r['run_id'][:8]:<8} {r['architecture'][:22]:<22} {r['dataset'][:13]:<13} "
                  f"{_fmt(r['params'] or 0):>8} {_fmt(r['macs'] or 0):>8} "
                  f"{num(r['val_accuracy'], '.3f'):>8} {num(r['train_seconds'], '.1f'):>7} "
                  f"{num(r['images_per_s'], '.0f'):>8} {r['status']:<9} {started}")
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    """Latency, training step, memory, per-layer time and roofline on this machine."""
    from playground.measure.records import save
    from playground.measure.report import text_report
    from playground.measure.runner import measure_target
    if args.batch < 1:
        raise SpecError("--batch", f"must be a positive integer, got {args.batch}")
    if args.repeats < 3:
        raise SpecError("--repeats", f"must be at least 3, got {args.repeats}")
    target = _target(args)
    say = (lambda p: None) if args.json else (lambda p: print(f"... {p}", file=sys.stderr,
                                                               flush=True))
    with contextlib.redirect_stdout(sys.stderr):  # Keras' own prints never reach --json
        result = measure_target(target, args.batch, device=args.device, xla=args.xla,
                                layers=not args.no_layers, repeats=args.repeats,
                                refresh_roofline=args.refresh_roofline, on_phase=say)
        if not args.no_store:
            result["run_id"] = save(result)
    if args.json:
        _print_json(result)
    else:
        print(text_report(result))
    return 0


def _study_settings(pairs: Sequence[str] | None) -> dict[str, str]:
    """``["width=64", ...]`` -> ``{"width": "64"}`` (the study parses each to its type)."""
    out = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError("--set", f"expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _text_table(rows: list[dict[str, Any]]) -> str:
    """Rows of dicts as aligned columns (numbers right-aligned)."""
    if not rows:
        return "(no rows)"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_cell(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    right = [all(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool)
                 for r in rows if r.get(c) is not None) for c in cols]
    def fmt(row: list[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right))
    return "\n".join([fmt(cols), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells])


def cmd_study(args: argparse.Namespace) -> int:
    """The lecture's claims as runnable studies: list them, or run one (training studies wait
    on their sweeps in the foreground; with --record RUN_ID, as that study run)."""
    import playground.studies as studies
    from playground.studies import runner
    if args.list or not args.name:
        rows = [{"number": s.number, "name": s.name, "title": s.title, "kind": s.kind,
                 "trains": s.trains}
                for s in studies.all_studies()]
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                print(f"{r['number']:>3}  {r['name']:<26} {r['kind']:<7}"
                      f" {r['title']}")
        return 0
    st = studies.get(args.name)
    given = _study_settings(args.set)
    preset = "longer" if args.longer else "default"
    settings = st.resolve(given, preset)  # bad settings fail here, before anything runs
    say = lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)  # noqa: E731
    with contextlib.redirect_stdout(sys.stderr):  # Keras' own prints never reach --json
        if args.record is not None:
            runner.on_sigterm_cancel()
            store = runner.study_store()
            run_id = args.record or runner.create(st, settings, preset, store)
            say(f"study run {run_id}")
            try:
                result = runner.execute(st, run_id, given, preset, store, progress=say)
            except runner.Cancelled:
                raise SpecError(f"study run {run_id}", "cancelled") from None
        else:
            result = st.run(given, preset, studies.Context(progress=say))
    if args.json:
        _print_json({"study": st.name, "settings": settings, "preset": preset,
                     "numbers": result.numbers, "run_ids": result.run_ids})
        return 0
    print(f"{st.number}. {st.title}\n{st.claim}\n")
    for line in result.findings:
        print(f"- {line}")
    for caption, rows in result.tables:
        print(f"\n{caption}\n{_text_table(rows)}")
    if result.figures:
        print("\nfigures (on the Studies page): " + "; ".join(c for c, _ in result.figures))
    if result.run_ids:
        print("\nsweeps (on the Leaderboard): " + ", ".join(result.run_ids))
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

    from playground.train.config import (BACKENDS, DEVICES, OPTIMIZERS, PRECISIONS, SCHEDULES, XLA,
                                         TrainConfig)
    t = sub.add_parser("train", help="run one training job in the foreground (same code as "
                       "the app's worker) and print its final metrics")
    t.add_argument("target", help="zoo name or spec .json file")
    d = TrainConfig()  # one set of defaults: the recipe's (see playground/train/config.py)
    t.add_argument("--dataset", default=d.dataset, help="shapes (default), shapes_hard, digits, "
                   "mnist, fashion_mnist, cifar10, cifar100, folder, csv")
    t.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                   help="data-set option, e.g. image_size=32, count=600, path=DIR (repeatable)")
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--time-budget", type=float, help="stop after this many seconds")
    t.add_argument("--batch", type=int, default=d.batch_size)
    t.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    t.add_argument("--lr", type=float, help="learning rate (default: per optimizer)")
    t.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    t.add_argument("--weight-decay", type=float, default=None,
                   help="decoupled weight decay (default: per optimizer)")
    t.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    t.add_argument("--flip", action="store_true", help="augment: random horizontal flips")
    t.add_argument("--translate", type=float, default=0.0, help="augment: max shift (fraction)")
    t.add_argument("--rotate", type=float, default=0.0, help="augment: max rotation (turns)")
    t.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    t.add_argument("--xla", choices=XLA, default=d.xla)
    t.add_argument("--steps-per-execution", type=int, default=d.steps_per_execution)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--val-split", type=float, default=d.val_split)
    t.add_argument("--backend", choices=BACKENDS, default=None,
                   help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    t.add_argument("--device", choices=DEVICES, default="auto")
    t.add_argument("--name", help="run name on the leaderboard")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_train)

    from playground.train.sweeps import DEFAULT_SEEDS
    w = sub.add_parser("sweep", help="train several architectures on the same data, budget "
                       "and seeds (one parent run, a child per architecture and seed, queued "
                       "like the app's runs); with --wait, mean and spread per architecture")
    w.add_argument("architectures", nargs="*", metavar="ARCH",
                   help="zoo names or spec .json files")
    w.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds 0..N-1 per "
                   f"architecture (default {DEFAULT_SEEDS})")
    w.add_argument("--epochs", type=int, default=d.epochs)
    w.add_argument("--dataset", default=d.dataset)
    w.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                   help="data-set option, e.g. image_size=32, count=600 (repeatable)")
    w.add_argument("--batch", type=int, default=d.batch_size)
    w.add_argument("--lr", type=float, help="learning rate (default: per optimizer)")
    w.add_argument("--backend", choices=BACKENDS, default=None,
                   help="Keras backend of the runs (default: $KERAS_BACKEND or tensorflow)")
    w.add_argument("--name", help="the sweep's name (default: 'sweep: A vs B on DATA')")
    w.add_argument("--wait", action="store_true", help="wait for every run, then print the "
                   "mean and spread per architecture (Ctrl-C cancels the runs)")
    w.add_argument("--json", action="store_true")
    w.add_argument("--status", metavar="SWEEP_ID", help="show a sweep instead of starting one")
    w.add_argument("--cancel", metavar="SWEEP_ID", help="cancel a sweep's runs")
    w.set_defaults(func=cmd_sweep)

    f = sub.add_parser("finetune", help="transfer learning: a pretrained backbone + new head on "
                       "your images (one folder per class), optionally fine-tuned")
    f.add_argument("--images", required=True, help="folder or .zip with one folder per class")
    f.add_argument("--backbone", default="MobileNetV2",
                   help="a Keras Applications name (MobileNetV2, ResNet50, ...) or run:<run id>")
    f.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file")
    f.add_argument("--epochs", type=int, default=10, help="head epochs (frozen backbone); with "
                   "--weights none, epochs of training the whole network from scratch")
    f.add_argument("--fine-tune-layers", type=int, default=None,
                   help="then unfreeze the top K layers (batch norm stays frozen; default: 0 "
                   "for Keras Applications, all for a run backbone)")
    f.add_argument("--fine-tune-epochs", type=int, default=None,
                   help="default: 3 (Keras Applications), 5 (run backbone)")
    f.add_argument("--image-size", type=int, help="input side (default: the backbone's)")
    f.add_argument("--batch", type=int, default=32)
    f.add_argument("--lr", type=float, help="head learning rate (default: the recipe's)")
    f.add_argument("--aug-copies", type=int, default=1,
                   help="augmented variants of each image in the feature cache")
    f.add_argument("--no-flip", action="store_true", help="no random flips")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--val-split", type=float, default=0.2)
    f.add_argument("--name", help="run name on the leaderboard")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_finetune)

    r = sub.add_parser("runs", help="the leaderboard: every run in the store")
    out = r.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true", help="CSV on stdout")
    r.add_argument("--filter", help="text in the name or architecture")
    r.add_argument("--status", choices=("SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED"))
    r.add_argument("--cancel", metavar="RUN_ID", help="stop an active run")
    r.add_argument("--delete", metavar="RUN_ID", help="remove a run from the leaderboard")
    r.set_defaults(func=cmd_runs)

    from playground.measure.latency import XLA_MODES
    ms = sub.add_parser("measure", help="measured latency, training step, memory, per-layer "
                        "time and roofline of an architecture on this machine")
    add_target(ms)
    ms.add_argument("--batch", type=int, default=1)
    ms.add_argument("--device", choices=DEVICES, default="auto",
                    help="cpu hides the GPUs; gpu fails when the backend sees none")
    ms.add_argument("--backend", choices=BACKENDS, default=None,
                    help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    ms.add_argument("--xla", choices=XLA_MODES, default="auto",
                    help="auto: the backend's fastest (TensorFlow: graph on CPU, XLA on GPU)")
    ms.add_argument("--repeats", type=int, default=15, help="timed samples after the warm-up")
    ms.add_argument("--no-layers", action="store_true", help="skip the per-layer timing")
    ms.add_argument("--refresh-roofline", action="store_true",
                    help="measure this machine's peak MAC rate and bandwidth again (cached)")
    ms.add_argument("--no-store", action="store_true", help="do not record it in the run store")
    ms.add_argument("--json", action="store_true")
    ms.set_defaults(func=cmd_measure)

    sd = sub.add_parser("study", help="the lecture's claims as runnable studies: --list, or "
                        "run one by name and print its findings and tables")
    sd.add_argument("name", nargs="?", help="the study's name (see --list)")
    sd.add_argument("--list", action="store_true",
                    help="number, name, kind (cost, trains, times), title")
    sd.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="a setting (repeatable); unknown or out-of-range settings are errors")
    sd.add_argument("--longer", action="store_true",
                    help="the longer / GPU preset (more epochs, seeds or finer grids)")
    sd.add_argument("--record", nargs="?", const="", default=None, metavar="RUN_ID",
                    help="record it as a study run in the run store (the page's background "
                    "runs pass the run they created)")
    sd.add_argument("--json", action="store_true", help="the numbers as JSON")
    sd.set_defaults(func=cmd_study)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from playground._env import import_keras_quietly

    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "command", None) in ("train", "measure"):  # fixed at Keras' import
            import os
            if args.backend:
                os.environ["KERAS_BACKEND"] = args.backend
            args.backend = os.environ.get("KERAS_BACKEND", "tensorflow")
            if args.command == "measure":
                from playground.train.config import installed_backends
                if args.backend not in installed_backends():
                    raise SpecError("--backend", f"{args.backend} is not installed here "
                                    f"(installed: {', '.join(installed_backends())})")
                if args.device == "cpu":  # before any backend loads
                    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
                    os.environ["JAX_PLATFORMS"] = "cpu"
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
