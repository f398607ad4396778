#!/usr/bin/env python3
"""Merge benchmark figures into target/bench/report.json and report.md.

Sources:
  * criterion: any benchmark whose id (last path component) is a report key ending in `_ns` or `_us`;
    its median point estimate (ns) is converted to the key's unit.
  * target/bench/parts/*.json: {"key": number, ...} written by custom harnesses.
Usage: bench_report.py TARGET_DIR
"""
import json
import pathlib
import sys

# key -> (seed threshold, our goal, unit text)
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
    "model_run_us_p99": ("< 30000 (p95)", "-", "us"),
    "tick_jitter_ms_p99": ("-", "<= 5", "ms"),
    "api_latest_rps_c16": ("-", ">= 20000", "req/s"),
    "api_latest_p99_ms_c16": ("-", "<= 2", "ms"),
    "rss_mb_ingestor": ("-", "-", "MiB"),
    "rss_mb_aggregator": ("-", "-", "MiB"),
    "rss_mb_inference": ("-", "-", "MiB"),
}


def criterion_figures(target: pathlib.Path) -> dict:
    out = {}
    for est in target.glob("criterion/**/new/estimates.json"):
        bench_id = est.parent.parent.name
        if bench_id not in KEYS:
            continue
        median_ns = json.loads(est.read_text())["median"]["point_estimate"]
        out[bench_id] = median_ns / 1000.0 if bench_id.endswith("_us") else median_ns
    return out


def main() -> int:
    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target")
    bench = target / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    figures = criterion_figures(target)
    for part in sorted((bench / "parts").glob("*.json")):
        figures.update({k: v for k, v in json.loads(part.read_text()).items() if isinstance(v, (int, float))})
    (bench / "report.json").write_text(json.dumps(dict(sorted(figures.items())), indent=2) + "\n")
    lines = ["# Benchmark report", "", "| figure | measured | seed threshold | our goal | unit |", "|---|---|---|---|---|"]
    for key, (seed, goal, unit) in KEYS.items():
        val = figures.get(key)
        shown = "not measured" if val is None else f"{val:,.3f}".rstrip("0").rstrip(".")
        lines.append(f"| `{key}` | {shown} | {seed} | {goal} | {unit} |")
    (bench / "report.md").write_text("\n".join(lines) + "\n")
    print(f"bench report: {len(figures)} figures -> {bench / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
