#!/usr/bin/env python3
"""Merge benchmark figures into target/bench/report.json, report.md and latency.png.

Sources:
  * criterion: any benchmark whose id (last path component) is a report key ending in `_ns` or `_us`;
    its median point estimate (ns) is converted to the key's unit.
  * target/bench/parts/*.json: {"key": number, ...} written by custom harnesses.
report.md shows every key with its measured value, the seed's threshold and our goal, each with a
pass/miss marker; figures outside KEYS are listed below the table. latency.png (matplotlib, from the
project venv) plots the latency and throughput figures against goals and seed thresholds on log
scales; without matplotlib the plot is skipped with a printed reason.
Usage: bench_report.py TARGET_DIR
"""
import datetime
import json
import os
import pathlib
import re
import sys

# key -> (seed threshold, our goal, unit text). Thresholds are "<op> <number> [comment]" or "-".
# The rss seed thresholds are seed 000's "Memory Usage > 80 %" of the ECS task memory in
# deploy/ecs/services.yaml (ingestor 512 MiB, aggregator and inference 1024 MiB).
KEYS = {
    "sbe_decode_trade_ns": ("-", "<= 20", "ns"),
    "json_decode_trade_ns": ("-", "(reference)", "ns"),
    "sbe_decode_depth_diff_ns": ("-", "-", "ns"),
    "sim_replay_events_per_sec": ("-", "-", "events/s"),
    "ingest_events_per_sec": ("-", ">= 200000", "events/s"),
    "ingest_to_kinesis_events_per_sec": ("-", "-", "events/s"),
    "feature_update_us_p99": ("< 20000 (feature computation p95 20 ms)", "<= 20", "us"),
    "aggregator_events_per_sec": ("-", "-", "events/s"),
    "freshness_ms_p50": ("< 2000", "-", "ms"),
    "freshness_ms_p99": ("< 5000", "<= 250", "ms"),
    "reanchor_ms_p99": ("< 60000", "-", "ms"),
    "inference_hot_path_us_p50": ("-", "<= 170", "us"),
    "inference_hot_path_us_p99": ("< 100000", "<= 300", "us"),
    "inference_hot_path_us_p999": ("-", "<= 1000", "us"),
    # Issue 18: ticks served from the snapshot the aggregator pushed (no read round trip), and the
    # subscription's delivery delay (flush compute time -> in inference's memory).
    "inference_feature_push_share": ("-", ">= 0.99", "share"),
    "inference_feature_push_delay_us_p50": ("-", "-", "us"),
    "inference_feature_push_delay_us_p99": ("-", "< 250000 (push max delay)", "us"),
    "redis_raw_publish_us_p50": ("-", "(floor: one round trip)", "us"),
    "model_run_us_p99": ("< 30000 (p95)", "-", "us"),
    "tick_jitter_ms_p99": ("-", "<= 5", "ms"),
    "api_latest_rps_c16": ("-", ">= 20000", "req/s"),
    "api_latest_p99_ms_c16": ("-", "<= 2", "ms"),
    "rss_mb_ingestor": ("< 410 (80 % of the 512 MiB task)", "-", "MiB"),
    "rss_mb_aggregator": ("< 819 (80 % of the 1024 MiB task)", "-", "MiB"),
    "rss_mb_inference": ("< 819 (80 % of the 1024 MiB task)", "-", "MiB"),
}

TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3}
BOUND = re.compile(r"^\s*(<=|>=|<|>)\s*([0-9][0-9_,.]*)")


def parse_bound(text: str):
    """("<=", 20.0) from "<= 20", None when the text states no bound."""
    m = BOUND.match(text)
    if not m:
        return None
    return m.group(1), float(m.group(2).replace("_", "").replace(",", ""))


def verdict(value, text: str) -> str:
    bound = parse_bound(text)
    if bound is None or value is None:
        return "—"
    op, limit = bound
    ok = {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[op]
    return "✅ pass" if ok else "❌ miss"


def fmt(v: float) -> str:
    return f"{v:,.3f}".rstrip("0").rstrip(".")


def criterion_figures(target: pathlib.Path) -> dict:
    """Criterion medians; when `make bench` left bench/.started, only estimates written since then."""
    out = {}
    marker = target / "bench" / ".started"
    since = marker.stat().st_mtime if marker.exists() else 0.0
    for est in target.glob("criterion/**/new/estimates.json"):
        bench_id = est.parent.parent.name
        if bench_id not in KEYS or est.stat().st_mtime < since:
            continue
        median_ns = json.loads(est.read_text())["median"]["point_estimate"]
        out[bench_id] = median_ns / 1000.0 if bench_id.endswith("_us") else median_ns
    return out


def plot(figures: dict, path: pathlib.Path) -> str:
    """Bar charts (log scale) of latency and throughput figures with goal / seed markers."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"latency plot skipped: matplotlib not importable ({e}); `make bootstrap` or " \
               f"`.local/venv/bin/pip install -r deploy/local/requirements-tools.txt`"
    lat = [(k, figures[k] * TO_US[u], s, g, TO_US[u]) for k, (s, g, u) in KEYS.items()
           if u in TO_US and k in figures]
    thr = [(k, figures[k], s, g, 1.0) for k, (s, g, u) in KEYS.items()
           if u.endswith("/s") and k in figures]
    if not lat and not thr:
        return "latency plot skipped: no figures"
    panels = [(rows, title) for rows, title in
              ((lat, "latency (µs, log scale)"), (thr, "throughput (per second, log scale)")) if rows]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 0.45 * sum(len(r) for r, _ in panels) + 2.5),
                             gridspec_kw={"height_ratios": [max(len(r), 1) for r, _ in panels]})
    if len(panels) == 1:
        axes = [axes]
    for ax, (rows, title) in zip(axes, panels):
        names = [r[0] for r in rows]
        vals = [r[1] for r in rows]
        colors = []
        for k, v, seed, goal, scale in rows:
            mark = verdict(v / scale, goal)
            if mark == "—":
                mark = verdict(v / scale, seed)
            colors.append({"✅ pass": "tab:green", "❌ miss": "tab:red"}.get(mark, "tab:gray"))
        y = range(len(rows))
        ax.barh(list(y), vals, color=colors)
        for i, (k, v, seed, goal, scale) in enumerate(rows):
            for text, style, label in ((goal, "k|", "our goal"), (seed, "rx", "seed threshold")):
                b = parse_bound(text)
                if b:
                    ax.plot([b[1] * scale], [i], style, markersize=14, mew=2, label=label)
            ax.text(v, i, f" {fmt(v / scale)} {KEYS[k][2]}", va="center", fontsize=8)
        ax.set_yticks(list(y))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        if uniq:
            ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="lower right")
        ax.grid(axis="x", which="both", alpha=0.3)
    fig.suptitle("make bench: measured (green = meets goal, or seed when no goal; red = misses; grey = no bound)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"latency plot -> {path}"


def main() -> int:
    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target")
    bench = target / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    figures = criterion_figures(target)
    for part in sorted((bench / "parts").glob("*.json")):
        figures.update({k: v for k, v in json.loads(part.read_text()).items() if isinstance(v, (int, float))})
    (bench / "report.json").write_text(json.dumps(dict(sorted(figures.items())), indent=2) + "\n")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark report",
        "",
        f"`make bench` on {os.cpu_count()} CPUs, {when}. Markers compare the measured value with the bound "
        "in the column to their left (— = no bound or not measured).",
        "",
        "| figure | measured | unit | seed threshold | vs seed | our goal | vs goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, (seed, goal, unit) in KEYS.items():
        val = figures.get(key)
        shown = "not measured" if val is None else fmt(val)
        lines.append(f"| `{key}` | {shown} | {unit} | {seed} | {verdict(val, seed)} | {goal} | {verdict(val, goal)} |")
    extra = {k: v for k, v in sorted(figures.items()) if k not in KEYS}
    if extra:
        lines += ["", "Other figures from the same run:", "", "| figure | measured |", "|---|---|"]
        lines += [f"| `{k}` | {fmt(v)} |" for k, v in extra.items()]
    missing = [k for k in KEYS if k not in figures]
    note = plot(figures, bench / "latency.png")
    lines += ["", f"Not measured: {', '.join(missing) if missing else 'none'}.", "",
              "![latency](latency.png)" if (bench / "latency.png").exists() and note.startswith("latency plot ->")
              else f"({note})"]
    (bench / "report.md").write_text("\n".join(lines) + "\n")
    print(note)
    print(f"bench report: {len(figures)} figures ({len(missing)} of {len(KEYS)} keys not measured) -> "
          f"{bench / 'report.json'}, {bench / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
