"""`__all__` is the public surface of albauth.upstream (its modules are private): keep it honest."""

import pkgutil

import albauth.upstream as package


def test_all_names_exist_once() -> None:
    assert all(hasattr(package, name) for name in package.__all__)
    assert len(set(package.__all__)) == len(package.__all__)


def test_all_is_exactly_the_public_names() -> None:
    public = {n for n, v in vars(package).items() if not n.startswith("_")
              and getattr(v, "__module__", "").startswith("albauth.upstream")}
    assert public == set(package.__all__)


def test_every_module_inside_is_private() -> None:
    assert [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")] == []
