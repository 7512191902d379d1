"""Adds up colcon's per-package JUnit results into one closing line: 'N passed, N failed, N skipped'."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

base = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
total = failed = skipped = 0
for xml in sorted(base.glob("*/pytest.xml")):
    root = ET.parse(xml).getroot()
    for suite in root.iter("testsuite"):
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
if total == 0:
    sys.exit("no test results found under " + str(base))
print(f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
