"""Executes postmortem.ipynb headlessly (as CI does), fails if any cell raises, and writes the
executed notebook with its outputs as results/notebooks/postmortem.html.
Run from the repository root: notebooks/.venv/bin/python notebooks/run.py

The kernel talks to this process over local IPC sockets rather than TCP: nothing listens on a
port, and the kernel has no reason to warn about unencrypted TCP."""

import os
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

here = Path(__file__).resolve().parent
out = here.parent / "results" / "notebooks" / "postmortem.html"

notebook = nbformat.read(here / "postmortem.ipynb", as_version=4)
config = Config()
config.KernelManager.transport = "ipc"
# IPC sockets live next to the connection file; a short private folder keeps the socket paths
# under the operating system's length limit.
with tempfile.TemporaryDirectory(prefix="sim-nb-") as runtime:
    config.KernelManager.connection_file = os.path.join(runtime, "kernel.json")
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(here)}},
        config=config,
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        print(f"notebooks/postmortem.ipynb: a cell failed:\n{error}", file=sys.stderr)
        sys.exit(1)

# The page embeds its styles and the figures; MathJax and require.js would come from a CDN
# and the notebook uses neither, so they are left out and the page works offline.
exporter = HTMLExporter(template_name="lab")
exporter.mathjax_url = ""
exporter.require_js_url = ""
html, _ = exporter.from_notebook_node(notebook)
out.parent.mkdir(parents=True, exist_ok=True)
partial = out.with_name(f".{out.name}.tmp")
partial.write_text(html, encoding="utf-8")
partial.replace(out)
print(
    f"notebooks/postmortem.ipynb: {len(notebook.cells)} cells executed without error; "
    f"wrote {out.relative_to(here.parent)}"
)
