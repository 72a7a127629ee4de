"""A small data analysis in one Session: the data goes in once, each request sees the earlier
code and its output, the variables stay between steps, and the chart comes back as a file.

    agentcode sandbox add pandas matplotlib     # once: packages for sandboxed code
    python examples/library/session_analysis.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import agentcode

SALES = Path(__file__).resolve().parent.parent / "shell" / "sales.csv"


def main(out_dir: str) -> int:
    with agentcode.Session() as session:
        session.write_files({"sales.csv": SALES.read_bytes()})
        steps = [
            "load sales.csv with pandas into a DataFrame named df and print its shape",
            "print the total amount per region from df, largest first",
            "save a bar chart of the total amount per region in df as chart.png",
        ]
        for request in steps:
            generation = session.generate(request)
            result = session.execute(generation.code)
            print(f"## {request}\n{result.stdout}", end="")
            if not result.ok:
                print(result.stderr, file=sys.stderr)
                return result.exit_code
        saved = session.download(out_dir, overwrite=True)
    print("saved:", ", ".join(sorted(path.name for path in saved)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "analysis-out"))
