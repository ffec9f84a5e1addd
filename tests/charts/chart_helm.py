"""Shared by the chart tests: helm (from tools/k8s/fetch_tools.sh), a copy
of the chart outside the runfiles, and rendering to a list of objects."""
import os
import shutil
import subprocess
import tempfile

import yaml

TOOLS = os.environ.get("SOTTO_TOOLS_DIR") or os.path.expanduser("~/.cache/sotto-tools")
HELM = os.path.join(TOOLS, "helm-v3.17", "helm")


def chart_copy():
    """A writable copy of charts/sotto; returns its path."""
    if not os.access(HELM, os.X_OK):
        raise RuntimeError(f"helm missing at {HELM}: run tools/k8s/fetch_tools.sh (./dev setup does)")
    src = os.path.join(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"], "charts", "sotto")
    dst = os.path.join(tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")), "sotto")
    shutil.copytree(src, dst, symlinks=False, ignore=shutil.ignore_patterns("BUILD"))
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
    return dst


def render(chart, *args):
    """`helm template` → list of objects."""
    env = dict(os.environ)
    work = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = os.path.join(work, var)
    out = subprocess.run([HELM, "template", "sotto", chart, "--namespace", "sotto", *args],
                         check=True, capture_output=True, text=True, env=env).stdout
    return [d for d in yaml.safe_load_all(out) if d]
