"""The project's module size limit (issue 11): no Python module under src/, provider/ or charm/
is over 400 lines, except the libvirt domain XML builder. A module that grows past it is split
by responsibility."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIMIT_LINES = 400
TREES = ("src", "provider", "charm")
EXEMPT = frozenset({"src/vmhost/drivers/libvirt/domain_xml.py"})


def oversized(root: Path) -> dict[str, int]:
    """The modules of `root`'s trees over the limit (not the exempt one), by path: lines."""
    found: dict[str, int] = {}
    for tree in TREES:
        for path in sorted((root / tree).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name in EXEMPT or any(part.startswith(".") for part in name.split("/")):
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > LIMIT_LINES:
                found[name] = lines
    return found


def test_no_module_is_over_400_lines():
    assert oversized(REPO) == {}, "split these modules by responsibility (path: lines)"


def test_the_check_names_a_module_over_the_limit(tmp_path: Path):
    for name, lines in [
        ("src/pkg/big.py", LIMIT_LINES + 1),
        ("src/pkg/limit.py", LIMIT_LINES),
        ("charm/huge.py", 2 * LIMIT_LINES),
        ("provider/small.py", 3),
        ("src/vmhost/drivers/libvirt/domain_xml.py", 3 * LIMIT_LINES),
        ("tests/long_test.py", 3 * LIMIT_LINES),
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * lines, encoding="utf-8")
    assert oversized(tmp_path) == {"src/pkg/big.py": 401, "charm/huge.py": 800}


def test_the_trees_are_read():
    assert (REPO / "src/vmhost/api/hosts.py").is_file()
    assert (REPO / "charm/service_client.py").is_file()
    assert all((REPO / name).is_file() for name in EXEMPT)
