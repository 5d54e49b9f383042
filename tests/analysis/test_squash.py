"""Squash semantics across layers: whiteouts, opaque directories, symlinks, replacement, attribution."""

from __future__ import annotations

from shared.analysis.model import LayerIndex
from shared.analysis.squash import squash
from testkit.images import directory, opaque, symlink, whiteout
from tests.analysis.helpers import LayerEntries, names, squashed, tree

DEBIAN = tree("distro/debian")
SITE = "/usr/lib/python3/dist-packages"


def dist(name: str, version: str) -> dict[str, bytes]:
    return {f"{SITE}/{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()}


def status(*packages: tuple[str, str]) -> dict[str, bytes]:
    text = "\n".join(f"Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n" for n, v in packages)
    return {"/var/lib/dpkg/status": text.encode()}


def test_a_package_deleted_in_a_higher_layer_is_gone() -> None:
    base = {**dist("alpha", "1.0"), **dist("beta", "2.0")}
    delete = dict([whiteout(f"{SITE}/alpha-1.0.dist-info")])
    _, packages, _, _ = squashed([base, delete])
    assert names(packages) == ["beta@2.0"]


def test_a_package_recreated_above_a_whiteout_is_present_and_attributed_to_its_layer() -> None:
    base = dist("alpha", "1.0")
    delete = dict([whiteout(f"{SITE}/alpha-1.0.dist-info")])
    recreate = dist("alpha", "1.0")
    _, packages, _, digests = squashed([base, delete, recreate])
    assert names(packages) == ["alpha@1.0"]
    assert packages[0].layer == digests[2]


def test_a_whiteout_does_not_hide_its_own_layer() -> None:
    layer: LayerEntries = {**dict([whiteout(f"{SITE}/alpha-1.0.dist-info")]), **dist("alpha", "1.0")}
    _, packages, _, _ = squashed([layer])
    assert names(packages) == ["alpha@1.0"]


def test_a_whiteout_of_a_parent_directory_hides_everything_below() -> None:
    _, packages, _, _ = squashed([{**dist("alpha", "1.0"), **dist("beta", "2.0")}, dict([whiteout("/usr/lib/python3")])])
    assert packages == []


def test_an_opaque_directory_hides_lower_content_but_not_its_own() -> None:
    lower = {**dist("alpha", "1.0"), **dist("beta", "2.0")}
    upper: LayerEntries = {**dict([opaque(SITE)]), **dist("gamma", "3.0")}
    _, packages, _, _ = squashed([lower, upper, dist("delta", "4.0")])
    assert names(packages) == ["delta@4.0", "gamma@3.0"]


def test_an_opaque_root_hides_every_lower_layer() -> None:
    _, packages, _, _ = squashed([dist("alpha", "1.0"), {**dict([opaque("/")]), **dist("beta", "2.0")}])
    assert names(packages) == ["beta@2.0"]


def test_an_upgraded_package_replaces_the_old_file() -> None:
    _, packages, _, digests = squashed([status(("libc6", "2.36-9")), status(("libc6", "2.36-9+deb12u4"), ("curl", "7.88"))])
    assert names(packages) == ["curl@7.88", "libc6@2.36-9+deb12u4"]
    assert {p.layer for p in packages} == {digests[1]}


def test_packages_unchanged_in_a_rewritten_database_keep_the_layer_that_introduced_them() -> None:
    layers = [
        status(("libc6", "2.36")),
        status(("libc6", "2.36"), ("curl", "7.88")),
        status(("libc6", "2.36"), ("curl", "7.88"), ("git", "2.39")),
    ]
    _, packages, _, digests = squashed(layers)
    assert {p.name: p.layer for p in packages} == {"libc6": digests[0], "curl": digests[1], "git": digests[2]}


def test_a_package_removed_from_the_database_is_gone() -> None:
    _, packages, _, _ = squashed([status(("libc6", "2.36"), ("curl", "7.88")), status(("libc6", "2.36"))])
    assert names(packages) == ["libc6@2.36"]


def test_a_directory_replaced_by_a_symlink_hides_lower_files() -> None:
    lower = dist("alpha", "1.0")
    upper = {SITE: symlink("/opt/site")}
    _, packages, _, _ = squashed([lower, upper])
    assert packages == []


def test_a_file_replaced_by_a_symlink_is_gone() -> None:
    lower = dist("alpha", "1.0")
    path = next(iter(lower))
    _, packages, _, _ = squashed([lower, {path: symlink("/dev/null")}])
    assert packages == []


def test_distro_in_the_base_layer_qualifies_os_packages_of_a_higher_layer() -> None:
    base: LayerEntries = {**DEBIAN, "/etc/os-release": symlink("../usr/lib/os-release")}
    os_info, packages, _, digests = squashed([base, {"/etc/motd": b"hi"}, status(("curl", "7.88.1-10"))])
    assert os_info is not None and os_info.distro == "debian-12"
    assert packages[0].purl == "pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12"
    assert packages[0].layer == digests[2]


def test_os_release_replaced_in_a_higher_layer_wins() -> None:
    alpine = tree("distro/alpine")
    base: LayerEntries = {**DEBIAN, "/etc/os-release": symlink("../usr/lib/os-release")}
    os_info, _, _, _ = squashed([base, alpine])
    assert os_info is not None and os_info.id == "alpine"


def test_os_release_link_deleted_falls_back_to_usr_lib() -> None:
    base = {"/etc/os-release": b"ID=other\n", **DEBIAN}
    os_info, _, _, _ = squashed([base, dict([whiteout("/etc/os-release")])])
    assert os_info is not None and os_info.id == "debian"


def test_os_release_symlink_loops_are_problems() -> None:
    layer = {"/etc/os-release": symlink("/etc/loop"), "/etc/loop": symlink("/etc/os-release"), "/etc/dir": directory()}
    os_info, _, problems, _ = squashed([layer])
    assert os_info is None
    assert any("symbolic links" in p.message for p in problems)


def test_os_release_through_a_symlinked_directory_in_another_layer() -> None:
    base = {"/usr/lib/os-release": DEBIAN["/usr/lib/os-release"]}
    links = {"/etc/os-release": symlink("/lib/os-release"), "/lib": symlink("usr/lib")}
    os_info, _, _, _ = squashed([base, links])
    assert os_info is not None and os_info.id == "debian"


def test_squash_of_plain_values() -> None:
    indexes = [LayerIndex(), LayerIndex(whiteouts=("/a",)), LayerIndex(opaque=("/d",))]
    entries = [{"/a": "base", "/b": "base", "/d/x": "base"}, {"/c": "one"}, {"/d/y": "two"}]
    visible = squash(indexes, [set(e) for e in entries], entries)
    assert {path: (v.layer, v.value) for path, v in visible.items()} == {"/b": (0, "base"), "/c": (1, "one"), "/d/y": (2, "two")}
