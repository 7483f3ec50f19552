"""Executes postmortem.ipynb headlessly (as CI does) and fails if any cell raises.
Run from the repository root: notebooks/.venv/bin/python notebooks/run.py"""

import sys
from pathlib import Path

import nbclient
import nbformat

here = Path(__file__).resolve().parent
notebook = nbformat.read(here / "postmortem.ipynb", as_version=4)
client = nbclient.NotebookClient(
    notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(here)}}
)
try:
    client.execute()
except nbclient.exceptions.CellExecutionError as error:
    print(f"notebooks/postmortem.ipynb: a cell failed:\n{error}", file=sys.stderr)
    sys.exit(1)
print(f"notebooks/postmortem.ipynb: {len(notebook.cells)} cells executed without error")
