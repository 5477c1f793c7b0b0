"""The ``dr-agent`` command: chat, ask, replay, simulator, data, fine-tuning and evaluation."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

log = logging.getLogger("dr_agent")


def default_db() -> Path:
    from agent.base_model import cache_dir

    return cache_dir() / "city.db"


def _ensure_city(db: Path) -> None:
    """Create the demo city at ``db`` on first use."""
    from sim_grid import create_city

    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        print(f"正在创建演示城市数据库：{db}", flush=True)
        create_city(db).dispose()


def _chat_model_factory(args):
    """Return a function (world facts -> chat model) for the chosen backend."""
    if getattr(args, "api_base", None):
        from agent.http_backend import OpenAICompatibleChatModel

        return lambda facts: OpenAICompatibleChatModel(base_url=args.api_base, model=args.api_model)

    from agent.chat_model import make_local_chat_model
    from agent.policy import get_policy

    policy = get_policy(args.base_model, args.adapter)
    return lambda facts: make_local_chat_model(policy, facts)


def _reply_mode(args) -> str:
    """Return "model" for a served model, which writes its own replies (checked for grounding), else "summary"."""
    return "model" if getattr(args, "api_base", None) else "summary"


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--adapter", default="default", help="LoRA adapter folder; 'none' runs the base model alone (default: data/adapter)")
    parser.add_argument("--base-model", default=None, help="local base model folder (default: embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--api-base", default=None, help="OpenAI-compatible server URL (e.g. vLLM) instead of the local model")
    parser.add_argument("--api-model", default="dr-agent", help="model name to request from --api-base")


# ---- chat -------------------------------------------------------------------------------


def cmd_chat(args) -> int:
    from rich.console import Console

    from agent.session import AgentSession, world_facts_of
    from sim_grid import advance_clock, open_city
    from sms_gateway import create_gateway
    from tools import ToolContext
    from tools.world import sim_now

    console = Console()
    db = Path(args.db)
    _ensure_city(db)
    # The chat follows $DR_AGENT_SMS_GATEWAY (default: the simulator); ask and replay always
    # use the simulator because they work on throwaway copies of the demo city.
    ctx = ToolContext(open_city(db), gateway=create_gateway())
    with console.status("正在加载模型……"):
        factory = _chat_model_factory(args)
        session = AgentSession(ctx, factory(world_facts_of(ctx)), thread_id=args.thread, checkpoint_path=Path(args.checkpoints), reply_mode=_reply_mode(args))

    console.print(f"[bold]需求响应调度助手[/bold]  会话：{args.thread}  模拟时钟：{sim_now(ctx):%Y-%m-%d %H:%M}")
    console.print("输入问题后回车。命令：/时间 查看模拟时钟，/推进 分钟数 推进时钟，/退出 结束。")
    while True:
        try:
            text = console.input("[bold cyan]调度员> [/bold cyan]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        text = text.strip()
        if text in ("/退出", "/exit", "/quit", "exit", "quit"):
            break
        if text in ("/时间", "/clock"):
            console.print(f"模拟时钟：{sim_now(ctx):%Y-%m-%d %H:%M}")
            continue
        if text.startswith(("/推进", "/advance")):
            parts = text.split()
            try:
                minutes = float(parts[1])
                if not 0 < minutes <= MAX_ADVANCE_MINUTES:
                    raise ValueError
            except (IndexError, ValueError):
                console.print(f"[red]用法：/推进 分钟数（1 到 {MAX_ADVANCE_MINUTES} 之间），例如 /推进 60[/red]")
                continue
            now = advance_clock(ctx.engine, minutes=minutes)
            console.print(f"模拟时钟已推进到 {now:%Y-%m-%d %H:%M}")
            continue
        if not text:
            continue
        with console.status("助手正在处理……"):
            try:
                turn = session.send(text)
            except Exception:  # noqa: BLE001 - the chat must survive any failure of one turn
                log.exception("turn failed in thread %s", args.thread)
                console.print("[red]抱歉，本轮处理出错，数据未改动。详细错误已写入日志。[/red]")
                continue
        _print_calls(console, turn)
        while turn.pending_approval:
            console.print(f"[yellow]待确认：[/yellow]{turn.reply}")
            answer = _ask_approval(console)
            with console.status("正在执行……" if answer else "正在取消……"):
                turn = session.resume(approved=answer)
        console.print(f"[green]助手：[/green]{turn.reply}")
        for result in turn.tool_results:
            chart = result.get("chart_path") or result.get("chart")
            if chart:
                console.print(f"[dim]  图表：{chart}[/dim]")
        console.print(f"[dim]  用时 {turn.seconds:.1f} 秒[/dim]")
    session.close()
    return 0


# The clock never moves back, so one chat command moves it at most a week.
MAX_ADVANCE_MINUTES = 7 * 24 * 60


def _print_calls(console, turn) -> None:
    for call in turn.tool_calls:
        arguments = "，".join(f"{key}={value}" for key, value in call["arguments"].items() if value is not None)
        console.print(f"[dim]  ⚙ 调用工具 {call['name']}（{arguments}）[/dim]")


APPROVE_WORDS = ("确认", "是", "发送", "y", "yes", "ok")
REJECT_WORDS = ("取消", "否", "不", "n", "no")


def _ask_approval(console) -> bool:
    """Prompt until the dispatcher types 确认 or 取消; end of input counts as 取消."""
    while True:
        try:
            answer = console.input("[bold yellow]确认发送吗？（确认 / 取消）> [/bold yellow]").strip().lower()
        except (EOFError, KeyboardInterrupt):
            return False
        if answer in APPROVE_WORDS:
            return True
        if answer in REJECT_WORDS:
            return False
        console.print("请输入“确认”或“取消”。")


# ---- ask ----------------------------------------------------------------------------------


def cmd_ask(args) -> int:
    from agent.session import AgentSession, world_facts_of
    from sim_grid import create_city, open_city
    from tools import ToolContext
    from tools.world import sim_today

    utterances = [args.utterance] if args.utterance else [line.rstrip("\n") for line in sys.stdin]
    factory = _chat_model_factory(args)
    with tempfile.TemporaryDirectory(prefix="dr-ask-") as folder:
        template = Path(folder) / "demo.db"
        create_city(template).dispose()
        for index, utterance in enumerate(utterances):
            if not utterance.strip() and not args.utterance:
                continue
            workdir = Path(folder) / f"u{index}"
            workdir.mkdir()
            shutil.copyfile(template, workdir / "city.db")
            ctx = ToolContext(open_city(workdir / "city.db"), output_dir=Path(args.charts) if args.charts else workdir / "charts")
            session = AgentSession(ctx, factory(world_facts_of(ctx)), thread_id=f"ask-{index}", reply_mode=_reply_mode(args))
            turn = session.send(utterance)
            pending = [{"tool": item["tool"], "arguments": item["arguments"], "recipients": item["preview"].get("recipients"), "prompt": item["prompt"]} for item in turn.pending_approval]
            tool_calls = list(turn.tool_calls)
            if pending and args.approve:
                turn = session.resume(approved=True)
            record = {
                "reply": turn.reply,
                "tool_calls": tool_calls,
                "sim_today": sim_today(ctx).isoformat(),
                "pending_approval": pending,
                "sms_sent": turn.sms_sent,
            }
            if args.verbose:
                record["tool_results"] = turn.tool_results
                record["seconds"] = round(turn.seconds, 3)
            session.close()
            ctx.engine.dispose()
            if args.json:
                print(json.dumps(record, ensure_ascii=False, default=str), flush=True)
            else:
                print(turn.reply, flush=True)
    return 0


# ---- replay -------------------------------------------------------------------------------


def cmd_replay(args) -> int:
    from agent.replay import replay

    paths: list[Path] = []
    for item in args.paths:
        path = Path(item)
        paths.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    if not paths:
        print("未找到场景脚本。", file=sys.stderr)
        return 2
    factory = _chat_model_factory(args)
    passed, failed = replay(paths, factory)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


# ---- simulator ----------------------------------------------------------------------------


def cmd_sim_init(args) -> int:
    from sim_grid import create_city

    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    create_city(db, seed=args.seed, overwrite=args.force).dispose()
    print(f"已创建城市数据库 {db}（{'演示城市' if args.seed is None else f'随机种子 {args.seed}'}）")
    return 0


def cmd_sim_advance(args) -> int:
    from sim_grid import advance_clock, open_city

    engine = open_city(args.db)
    if args.to:
        now = advance_clock(engine, to=dt.datetime.fromisoformat(args.to))
    else:
        now = advance_clock(engine, minutes=args.minutes)
    print(f"模拟时钟：{now:%Y-%m-%d %H:%M}")
    return 0


# ---- data, fine-tuning, evaluation --------------------------------------------------------


def cmd_data_build(args) -> int:
    from finetune.traces import TraceConfig, write_dataset

    config = TraceConfig(seed=args.seed)
    card = write_dataset(config, Path(args.out))
    print(json.dumps(card["splits"], ensure_ascii=False, indent=2))
    if args.export:
        from finetune.export_formats import export_all

        for path in export_all(Path(args.out)).values():
            print(f"已导出 {path}")
    print(f"数据集已写入 {args.out}（sha256 {card['sha256'][:12]}）")
    return 0


def cmd_finetune(args) -> int:
    from finetune.train import FinetuneConfig, FinetuneConfigError, train

    overrides = {
        "method": args.method,
        "base_model": args.base_model,
        "data_dir": args.data,
        "output_dir": args.output,
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "learning_rate": args.learning_rate,
        "lora_r": args.lora_r,
        "bottleneck_dim": args.bottleneck_dim,
        "batch_size": args.batch_size,
        "max_train_samples": args.max_train_samples,
        "save_steps": args.save_steps,
    }
    try:
        if args.config:
            config = FinetuneConfig.from_yaml(args.config, **overrides)
        else:
            config = FinetuneConfig(**{key: value for key, value in overrides.items() if value is not None})
    except (FinetuneConfigError, OSError) as error:
        print(f"训练配置有误：{error}", file=sys.stderr)
        return 2
    if not (Path(config.data_dir) / "train.jsonl").is_file():
        print(f"找不到训练数据 {config.data_dir}/train.jsonl，请先运行 dr-agent data build", file=sys.stderr)
        return 2
    if args.no_packing:
        config.packing = False
    summary = train(config, resume=args.resume)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    print(f"训练完成（{config.method}），结果已写入 {config.output_dir}，配置见 {config.output_dir}/finetune_config.yaml")
    return 0


def _eval_config(args):
    from finetune.evaluate import EvalConfig

    return EvalConfig(
        data_dir=args.data,
        split=args.split,
        limit=args.limit,
        scenarios=list(args.scenarios),
        samples=args.samples,
        temperature=args.temperature,
        seed=args.seed,
    )


def cmd_export(args) -> int:
    from finetune.export_model import ExportError, check_vllm_lora, export_merged
    from agent.base_model import artefact_kind

    if not args.merge:
        print("请加 --merge：导出会把训练结果合并进基座模型，写成一个完整的 safetensors 模型目录。", file=sys.stderr)
        return 2
    try:
        summary = export_merged(args.adapter, args.out, args.base_model)
    except ExportError as error:
        print(f"无法导出：{error}", file=sys.stderr)
        return 2
    print(f"已写入合并后的模型：{args.out}（{summary['kind']}，{summary['parameters']:,} 个参数）")
    if artefact_kind(args.adapter) == "lora":
        problems = check_vllm_lora(args.adapter)
        if problems:
            print("注意：未合并的适配器不能直接被 vLLM 加载：" + "；".join(problems))
        else:
            print(f"未合并的适配器也可直接用 vLLM 加载：--enable-lora --lora-modules dr-agent={args.adapter}")
    return 0


def cmd_eval(args) -> int:
    from agent.policy import LocalPolicy
    from finetune.evaluate import evaluate_policy
    from finetune.report import print_console

    config = _eval_config(args)
    report = evaluate_policy(LocalPolicy(args.base_model, args.adapter), config, name=args.adapter, show_progress=not args.json)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        print_console({args.adapter: report})
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, ensure_ascii=False, indent=2, default=str)
    return 0


def _eval_report_command(args) -> str:
    """Return the eval-report command with every effective option, for the page it writes."""
    import shlex

    parts = ["dr-agent", "eval-report"]
    for item in args.model:
        parts += ["--model", item]
    if args.base_model:
        parts += ["--base-model", args.base_model]
    parts += ["--data", args.data, "--split", args.split]
    if args.limit:
        parts += ["--limit", str(args.limit)]
    parts += ["--scenarios", *args.scenarios]
    parts += ["--samples", str(args.samples), "--temperature", str(args.temperature), "--seed", str(args.seed)]
    parts += ["--out", args.out]
    return shlex.join(parts)


def cmd_eval_report(args) -> int:
    from finetune.report import compare_models, parse_model_option, print_console

    models: dict[str, str] = {}
    for item in args.model:
        name, value = parse_model_option(item)
        if name in models:
            raise ValueError(f"model name {name!r} is given twice")
        models[name] = value
    reports = compare_models(models, _eval_config(args), Path(args.out), _eval_report_command(args), base_model=args.base_model)
    print_console(reports)
    print(f"wrote {args.out} and {Path(args.out).with_suffix('.json')}")
    return 0


def cmd_audit(args) -> int:
    from sim_grid import list_audit, open_city

    entries = list_audit(open_city(args.db), limit=args.limit)
    if not entries:
        print("审计记录为空。")
        return 0
    for entry in entries:
        print(f"#{entry.id} {entry.recorded_at:%Y-%m-%d %H:%M:%S} {entry.actor} 会话={entry.thread_id} {entry.tool} {entry.arguments_json}")
        print(f"    请求：{entry.request_text}")
        print(f"    决定：{DECISION_LABELS.get(entry.decision, entry.decision)}，已发送 {entry.sent_count} 条")
    return 0


DECISION_LABELS = {"approved": "已确认", "rejected": "已取消", "auto": "无需确认（未发送）"}


def cmd_serve(args) -> int:
    from sms_gateway.webhooks import serve

    serve(
        args.db,
        host=args.host,
        port=args.port,
        gateway=args.gateway,
        public_url=args.public_url,
        trust_proxy_headers=args.trust_proxy_headers,
        log_level=args.log_level,
    )
    return 0


def cmd_robustness(args) -> int:
    from agent.robustness import render_report, run_all

    outcomes = run_all(_chat_model_factory(args))
    report = render_report(outcomes, "dr-agent robustness --out " + (args.out or "-"))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report, encoding="utf-8")
    print(report)
    return 0 if all(outcome.passed for outcome in outcomes) else 1


def cmd_bench(args) -> int:
    from agent.benchmark import run_benchmark

    result = run_benchmark(rounds=args.rounds, base_model=args.base_model, adapter=args.adapter)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _add_eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data/traces", help="folder of the trace splits")
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N samples of the split")
    parser.add_argument(
        "--scenarios",
        nargs="*",
        default=["data/scenarios"],
        metavar="PATH",
        help="scenario YAML files or folders (default: data/scenarios); the option without a path runs none",
    )
    parser.add_argument("--samples", type=int, default=0, help="sampled runs per scenario for pass^k, on top of the greedy run (default: 0)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the sampled runs (default: 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="sampled run r uses seed + r (default: 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dr-agent", description="需求响应调度助手 / demand-response dispatcher agent")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="terminal chat in Chinese")
    chat.add_argument("--thread", default="default", help="conversation id; the same id resumes the conversation")
    chat.add_argument("--db", default=str(default_db()), help="city database (created as the demo city if missing)")
    chat.add_argument("--checkpoints", default=None, help="SQLite file of saved conversations (default: next to --db)")
    _add_model_options(chat)
    chat.set_defaults(func=cmd_chat)

    ask = commands.add_parser("ask", help="answer utterances, each in a fresh conversation on a fresh demo city")
    ask.add_argument("utterance", nargs="?", help="one dispatcher message; without it, one per line from stdin")
    ask.add_argument("--json", action="store_true", help="print one JSON object per utterance")
    ask.add_argument("--charts", default=None, help="folder to keep charts in (default: discarded)")
    ask.add_argument("--approve", action="store_true", help="approve every send; without it nothing is sent")
    _add_model_options(ask)
    ask.set_defaults(func=cmd_ask)

    replay = commands.add_parser("replay", help="run scenario scripts (YAML files or folders)")
    replay.add_argument("paths", nargs="+")
    _add_model_options(replay)
    replay.set_defaults(func=cmd_replay)

    sim = commands.add_parser("sim", help="simulator commands").add_subparsers(dest="sim_command", required=True)
    init = sim.add_parser("init", help="build a city database")
    init.add_argument("--seed", type=int, default=None, help="random city seed (default: the demo city)")
    init.add_argument("--db", default=str(default_db()))
    init.add_argument("--force", action="store_true", help="replace an existing database")
    init.set_defaults(func=cmd_sim_init)
    advance = sim.add_parser("advance", help="move the simulator clock forward")
    advance.add_argument("--db", default=str(default_db()))
    group = advance.add_mutually_exclusive_group(required=True)
    group.add_argument("--minutes", type=float)
    group.add_argument("--to", help="YYYY-MM-DD HH:MM")
    advance.set_defaults(func=cmd_sim_advance)

    data = commands.add_parser("data", help="dataset commands").add_subparsers(dest="data_command", required=True)
    build = data.add_parser("build", help="generate tool-call traces")
    build.add_argument("--out", default="data/traces")
    build.add_argument("--seed", type=int, default=7)
    build.add_argument("--export", action="store_true", help="also write messages+tools JSONL and ShareGPT (LLaMA-Factory) copies")
    build.set_defaults(func=cmd_data_build)

    finetune = commands.add_parser("finetune", help="train a LoRA, full-parameter or bottleneck-adapter model with TRL")
    finetune.add_argument("--config", default=None, help="YAML file of FinetuneConfig fields; options given here override it")
    finetune.add_argument("--method", choices=["lora", "full", "adapter"], default=None, help="what trains (default: lora)")
    finetune.add_argument("--data", default=None, help="trace folder with train.jsonl (default: data/traces)")
    finetune.add_argument("--output", default=None, help="artefact folder (default: data/adapter)")
    finetune.add_argument("--base-model", default=None, help="local base model folder (default: embedded SmolLM2-135M-Instruct)")
    finetune.add_argument("--epochs", type=float, default=None, help="passes over the training split (default: 1)")
    finetune.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps (default: use epochs)")
    finetune.add_argument("--learning-rate", type=float, default=None, help="peak learning rate (default per method: lora 8e-4, full 1e-4, adapter 1e-3)")
    finetune.add_argument("--lora-r", type=int, default=None, help="LoRA rank (default: 16)")
    finetune.add_argument("--bottleneck-dim", type=int, default=None, help="bottleneck adapter width (default: 64)")
    finetune.add_argument("--batch-size", type=int, default=None, help="samples per optimizer step (default: 8)")
    finetune.add_argument("--max-train-samples", type=int, default=None, help="train on the first N samples only")
    finetune.add_argument("--no-packing", action="store_true", help="pad each sample instead of packing a step into one row")
    finetune.add_argument("--save-steps", type=int, default=None, help="write a resumable checkpoint every N steps (default: 25)")
    finetune.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/checkpoints")
    finetune.set_defaults(func=cmd_finetune)

    export = commands.add_parser("export", help="merge a LoRA adapter (or re-save a full model) into one safetensors model folder")
    export.add_argument("--adapter", required=True, help="training artefact folder (LoRA adapter or full model)")
    export.add_argument("--out", required=True, help="empty or new folder for the merged model")
    export.add_argument("--merge", action="store_true", help="merge the adapter into the base weights (required)")
    export.add_argument("--base-model", default=None, help="base model folder the adapter was trained on (default: embedded SmolLM2-135M-Instruct)")
    export.set_defaults(func=cmd_export)

    evaluate = commands.add_parser("eval", help="accuracy on a trace split, task success and pass^k on the scenario scripts")
    _add_eval_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print the full report as JSON instead of tables")
    evaluate.add_argument("--out", default=None, help="write the full report as JSON here")
    _add_model_options(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    report = commands.add_parser("eval-report", help="evaluate several models side by side and write docs/evaluation.md")
    report.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="NAME=VALUE",
        help="a column of the report; VALUE is what --adapter takes: none, default, a LoRA, full-model or bottleneck-adapter folder (repeat the option)",
    )
    report.add_argument("--base-model", default=None, help="local base model folder for every model (default: embedded SmolLM2-135M-Instruct)")
    _add_eval_options(report)
    report.add_argument("--out", default="docs/evaluation.md", help="Markdown file to write; the JSON report goes beside it with a .json suffix")
    report.set_defaults(func=cmd_eval_report)

    audit = commands.add_parser("audit", help="list proposed sends and the dispatcher's decisions")
    audit.add_argument("--db", default=str(default_db()))
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=cmd_audit)

    serve = commands.add_parser("serve", help="start the SMS webhook server (Twilio replies and delivery receipts)")
    serve.add_argument("--db", default=str(default_db()))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--gateway", default="twilio", help="gateway whose webhooks to serve")
    serve.add_argument("--public-url", default=None, help="URL Twilio calls, used to check signatures (default: $DR_AGENT_PUBLIC_URL)")
    serve.add_argument("--trust-proxy-headers", action="store_true", default=None, help="honour X-Forwarded-Proto/Host from a TLS-terminating proxy")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    robustness = commands.add_parser("robustness", help="run hostile and malformed inputs and report the outcomes")
    robustness.add_argument("--out", default=None, help="write the Markdown report here (e.g. docs/robustness.md)")
    _add_model_options(robustness)
    robustness.set_defaults(func=cmd_robustness)

    bench = commands.add_parser("bench", help="time agent turns on the seven specification questions")
    bench.add_argument("--rounds", type=int, default=3, help="times each question is asked")
    _add_model_options(bench)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sim_grid import SimError
    from sms_gateway import GatewayError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        # Deprecation notices of transformers and TRL are for engineers, not for the chat screen.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if getattr(args, "command", None) == "chat" and args.checkpoints is None:
        args.checkpoints = str(Path(args.db).with_name("conversations.db"))
    from agent.base_model import BaseModelNotFound

    try:
        return args.func(args)
    except BaseModelNotFound as error:
        print(f"错误：找不到模型或训练结果（{error}）。", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"错误：找不到文件 {error.filename or error}", file=sys.stderr)
        return 2
    except FileExistsError:
        print("错误：城市数据库已存在。如需重建，请加 --force。", file=sys.stderr)
        return 2
    except GatewayError as error:
        print(f"错误：短信网关配置无效（{error}）。", file=sys.stderr)
        return 2
    except SimError as error:
        print(f"错误：模拟器拒绝了该操作（{error}）。", file=sys.stderr)
        return 2
    except ValueError as error:
        # Malformed --to times and similar option values.
        print(f"错误：参数无效（{error}）。", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
