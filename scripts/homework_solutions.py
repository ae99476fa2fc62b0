"""Write each homework notebook's reference-solution copy: notebooks/homework/hwN_x.ipynb ->
notebooks/solutions/hwN_x_solution.ipynb.

A code cell of the homework tagged ``stub`` names in its metadata (``"solution": "fn"`` or ``"fn1, fn2"``) the
functions it asks for; in the copy each stub function is replaced by the function of the same name from
``notebooks/solutions/solutions_hwN.py`` (one source for the tests and the notebook), and the cell keeps its check.
A markdown cell tagged ``answer`` (a written answer) becomes the string constant its ``"solution"`` names.
Usage: python scripts/homework_solutions.py [HOMEWORK.ipynb ...]   (default: every homework notebook)
Then ``make execute NB=notebooks/solutions/hwN_x_solution.ipynb`` runs the copy in full mode.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HOMEWORK, SOLUTIONS = ROOT / "notebooks" / "homework", ROOT / "notebooks" / "solutions"


def functions(source: str) -> dict[str, str]:
    """Top-level function definitions of a module's source, by name (decorators included), and its top-level
    string constants (model answers to written questions) by name."""
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            start = min([node.lineno, *[d.lineno for d in node.decorator_list]]) - 1
            out[node.name] = "\n".join(lines[start:node.end_lineno])
        elif isinstance(node, ast.Assign) and isinstance(getattr(node.value, "value", None), str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def fill(cell_source: str, names: list[str], solution: dict[str, str], module: str) -> str:
    """The stub cell with each named stub function replaced by its reference solution."""
    lines, tree = cell_source.splitlines(), ast.parse(cell_source)
    stubs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    missing = [n for n in names if n not in stubs or n not in solution]
    if missing:
        raise ValueError(f"stub functions {missing} are missing from the cell or from {module}")
    for name in sorted(names, key=lambda n: -stubs[n].lineno):  # bottom-up keeps line numbers valid
        node = stubs[name]
        lines[node.lineno - 1:node.end_lineno] = solution[name].splitlines()
    return f"# reference solution (notebooks/solutions/{module})\n" + "\n".join(lines)


def solution_notebook(path: Path) -> Path:
    key = path.stem.split("_")[0]  # hw4
    module = f"solutions_{key}.py"
    solution = functions((SOLUTIONS / module).read_text(encoding="utf-8"))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.pop("outputs", None) if cell.cell_type != "code" else cell.update(outputs=[], execution_count=None)
        tags = cell.metadata.get("tags", [])
        if "stub" in tags:
            names = [n.strip() for n in cell.metadata["solution"].split(",")]
            cell.source = fill(cell.source, names, solution, module)
        elif "answer" in tags:  # a written answer: the model answer, a string constant of the solutions module
            cell.source = solution[cell.metadata["solution"]].strip()
    title = nb.cells[0]
    title.source = title.source.replace("\n", "（参考答案 · reference solution）\n", 1)
    nb.metadata.pop("widgets", None)
    out = SOLUTIONS / f"{path.stem}_solution.ipynb"
    nbformat.write(nb, out)
    return out


def main(paths: list[str]) -> None:
    for p in [Path(p) for p in paths] or sorted(HOMEWORK.glob("hw*.ipynb")):
        print(solution_notebook(p.resolve()).relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
