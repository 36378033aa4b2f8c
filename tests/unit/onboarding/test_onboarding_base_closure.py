"""What the resolver assumes a base image has (`sure_closure`, apt_repository.py): the roots and
what they depend on without an alternative — never a package an `a | b` clause or a virtual
name could have picked, because assuming a package the base lacks makes `dpkg -i` fail."""

from __future__ import annotations

from modelbay_onboarding.system_libraries.apt_repository import sure_closure

INDEX = {
    "init-system-helpers": "perl-base (>= 5.20.1-3~), usrmerge | usr-is-merged",
    "perl-base": "libc6 (>= 2.35), dpkg (>= 1.17.17)",
    "dpkg": "tar (>= 1.28-1), libzstd1:any (>= 1.5.2)",
    "tar": "libacl1 (>= 2.2.23), libselinux1 (>= 3.1~)",
    "libc6": "libgcc-s1",
    "libgcc-s1": "gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)",
    "gcc-12-base": "",
    "libzstd1": "libc6 (>= 2.14)",
    "libacl1": "",
    "libselinux1": "libpcre2-8-0 (>= 10.22)",
    "libpcre2-8-0": "",
    "usrmerge": "perl:any",
    "usr-is-merged": "",
    "debconf": "perl-base (>= 5.20.1-3~)",
    "adduser": "passwd, debconf (>= 0.5) | debconf-2.0",
    "passwd": "libpam0g",
    "libpam0g": "",
    "apt": "adduser, gpgv | gpgv2",
}


def test_single_dependencies_are_followed_with_versions_and_arch_qualifiers_dropped() -> None:
    assert sure_closure(["dpkg"], INDEX) == {
        "dpkg", "tar", "libzstd1", "libacl1", "libselinux1", "libpcre2-8-0", "libc6",
        "libgcc-s1", "gcc-12-base",
    }  # fmt: skip


def test_neither_side_of_an_alternative_is_assumed() -> None:
    closure = sure_closure(["init-system-helpers"], INDEX)
    assert "perl-base" in closure
    assert not closure & {"usrmerge", "usr-is-merged", "perl"}


def test_a_package_only_an_unkept_root_needs_is_not_assumed() -> None:
    # apt is no root: what only it needs (adduser, passwd) is not in the base; debconf, reached
    # only through `debconf | debconf-2.0`, is not assumed either
    closure = sure_closure(["init-system-helpers", "python3-unknown"], INDEX)
    assert not closure & {"apt", "adduser", "passwd", "libpam0g", "debconf"}


def test_roots_absent_from_the_index_and_virtual_names_are_left_out() -> None:
    assert sure_closure(["debconf-2.0", "gcc-12-base"], INDEX) == {"gcc-12-base"}
