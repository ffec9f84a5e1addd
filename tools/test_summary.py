"""Prints the closing line of ./dev test: "N passed, N failed".

Counts test cases, not targets: for every test target Bazel reported, the
target's test.xml gives its cases (gtest and Python unittest write one);
a target that failed without a readable XML (build failure, timeout, crash)
counts as one failure, so nothing that broke can vanish from the count.

Usage: test_summary.py BAZEL_LOG TESTLOGS_DIR
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

STATUS = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|"
                    r"FLAKY|NO STATUS|INCOMPLETE|SKIPPED)\b")


def cases(xml_path):
    """Returns (passed, failed) test cases in a Bazel test.xml, or None."""
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status") in ("notrun",) or case.find("skipped") is not None:
            continue
        else:
            passed += 1
    if passed + failed == 0:
        return None
    return passed, failed


def main(log_path, testlogs):
    passed = failed = 0
    seen = set()
    with open(log_path, errors="replace") as log:
        for line in log:
            m = STATUS.match(line)
            if not m or m.group(1) in seen:
                continue
            target, status = m.group(1), m.group(2)
            seen.add(target)
            package, _, name = target[2:].partition(":")
            counted = cases(os.path.join(testlogs, package, name, "test.xml")) if testlogs else None
            if status in ("PASSED", "FLAKY"):
                passed += counted[0] if counted else 1
            elif status == "SKIPPED":
                continue
            else:
                if counted and counted[1] > 0:
                    passed += counted[0]
                    failed += counted[1]
                else:
                    failed += 1
                log = os.path.join(testlogs, package, name, "test.log") if testlogs else ""
                print("failed: %s (%s)%s" % (target, status,
                                             " log: " + log if log and os.path.exists(log) else ""))
    if not seen:
        # Bazel never got to run a test (analysis or build error): say so.
        failed += 1
        print("failed: no test ran; see %s" % log_path)
    if seen:
        # Bazel's own "Executed N out of M tests" counts targets, and only
        # those it ran this time; this summary counts test cases of all.
        print("(test cases of %d Bazel test targets; targets whose inputs "
              "did not change report their cached result)" % len(seen),
              file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
