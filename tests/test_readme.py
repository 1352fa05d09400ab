"""The README's two commands (CI runs the test command verbatim) and the minimum versions."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("```bash") + 1
    return lines[start : lines.index("```", start)]


def test_readme_starts_with_the_two_commands():
    demo, tests = _readme_commands()
    assert demo.endswith("python -m skncf demo")
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci_lines


def test_minimum_versions_file_pins_the_lowest_versions_pyproject_admits():
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for r in project["optional-dependencies"]["cli"]]
    lines = (ROOT / ".ci" / "minimum-versions.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    for requirement in requirements:
        pinned = Version(pins[requirement.name])
        assert requirement.specifier.contains(pinned), (requirement, pinned)
        (lowest,) = (Version(s.version) for s in requirement.specifier if s.operator == ">=")
        assert pinned.release[: len(lowest.release)] == lowest.release, (requirement, pinned)
