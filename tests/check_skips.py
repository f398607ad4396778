#!/usr/bin/env python3
"""Makes data-test skips visible after `cargo nextest run` (issue 19, item 10).

Tests that need ../shared (the real recordings, Binance's published schemas) return early and
print a line starting with `SKIP` when the data is absent. nextest hides the output of passing
tests, so a skip reads as a pass. nextest stores every test's output in its JUnit report
(`.config/nextest.toml`: `[profile.default.junit] store-success-output = true`); this script reads
that report, prints one summary line plus one line per skipped test, and exits 1 when the data
directory given with --data exists but a test skipped anyway (a moved file or a wrong path must
not silently turn the real-data tests off).

Usage: check_skips.py JUNIT_XML [--data DIR]
"""
import argparse
import os
import sys
import xml.etree.ElementTree as ET


def skips(junit_path):
    """[(test id, first SKIP line)] of every test whose stdout or stderr has a line starting SKIP."""
    root = ET.parse(junit_path).getroot()
    out, total = [], 0
    for case in root.iter('testcase'):
        total += 1
        text = '\n'.join((e.text or '') for tag in ('system-out', 'system-err') for e in case.iter(tag))
        lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith('SKIP')]
        if lines:
            out.append((f'{case.get("classname")} {case.get("name")}', lines[0]))
    return out, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('junit')
    ap.add_argument('--data', help='data directory: when it exists, any skip is a failure')
    args = ap.parse_args()
    if not os.path.isfile(args.junit):
        print(f'check_skips: no JUnit report at {args.junit} (run cargo nextest with .config/nextest.toml)')
        return 1
    found, total = skips(args.junit)
    if total == 0:
        print(f'check_skips: {args.junit} lists no test')
        return 1
    data_present = bool(args.data) and os.path.isdir(args.data)
    print(f'test skips: {len(found)} of {total} tests skipped their data checks'
          + (f' (data directory {args.data} {"present" if data_present else "absent"})' if args.data else ''))
    for test, line in found:
        print(f'  SKIPPED {test}: {line}')
    if found and data_present:
        print(f'check_skips: FAIL — {args.data} exists, so no data test may skip; fix the path or the file '
              f'the tests above look for')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
