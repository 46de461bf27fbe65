"""`__all__` is the public surface of albauth.session: keep it honest."""

import albauth.session as package


def test_all_names_exist_once() -> None:
    assert all(hasattr(package, name) for name in package.__all__)
    assert len(set(package.__all__)) == len(package.__all__)


def test_no_public_name_is_left_out() -> None:
    public = {n for n, v in vars(package).items() if not n.startswith("_")
              and getattr(v, "__module__", "").startswith("albauth.session")}
    assert public <= set(package.__all__)
