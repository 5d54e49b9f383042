"""Hostile images pushed to the real registry, analyzed by ``lookout analyze`` in a child process.

Each image attacks a bound: decompression bombs (gzip within the layer limit, zstd past it), a
layer of a million entries, a huge file a cataloger reads, names that climb out of the root or
start at it, symbolic link loops, descriptors that lie about sizes, a 50 MB config, a 100 MB
manifest, an index that names itself. Every run ends with a recorded failure naming the bound, or
a correct (perhaps partial) result whose problems say what was skipped, and its peak resident
memory stays within a margin of a clean image's: bounded by the limits, not by the image. One
hostile image also goes through the served app, which records the failure and keeps serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.analysis import Limits
from shared.registry import mediatypes
from shared.registry.catalog import latest_image
from testkit import faulty_proxy as faults
from testkit.events import image_pushed
from testkit.faulty_proxy import FaultyProxy
from testkit.images import push_image
from testkit.registry import RegistryServer
from testkit.stack import Stack
from tests.faults.hostile import (
    END_OF_ARCHIVE,
    HARD_LINK,
    SYMLINK,
    ChildRun,
    image_config,
    lookout_analyze,
    member,
    push_raw_image,
    push_raw_index,
    stream_layer,
    tar_header,
    tar_layer,
)

pytestmark = pytest.mark.timeout(120)

MiB = 1024 * 1024
GiB = 1024 * MiB
LIMITS = Limits()
STREAMING_MARGIN = 64 * MiB
"""What a run that only streams may hold above a clean run: chunks, and the freed blocks the allocator keeps."""
FILE_MARGIN = 3 * LIMITS.max_file_bytes
"""What a run may hold above a clean run when a cataloger reads a file of up to ``max_file_bytes``."""

TESTDATA = Path(__file__).resolve().parents[1] / "analysis" / "testdata"
DEBIAN = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
ALPINE = b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.0\n'
STATUS = (TESTDATA / "dpkg" / "var" / "lib" / "dpkg" / "status").read_bytes()
ZEROS = bytes(64 * MiB)


@pytest.fixture(scope="module")
def clean(registry: RegistryServer) -> ChildRun:
    """A clean image's run: the memory baseline, and the packages of :data:`STATUS`."""
    push_raw_image(registry, "hostile/clean", "1",
                   [tar_layer([member("etc/os-release", DEBIAN), member("var/lib/dpkg/status", STATUS)])])
    run = lookout_analyze(registry, "hostile/clean:1")
    assert run.exit_code == 0, run.stderr
    assert packages(run)
    return run


def platform(run: ChildRun) -> dict[str, object]:
    (only,) = run.document()["platforms"]
    assert isinstance(only, dict)
    return only


def packages(run: ChildRun) -> list[str]:
    found = platform(run)["packages"]
    assert isinstance(found, list)
    return sorted(f"{p['name']}@{p['version']}" for p in found)


def problems(run: ChildRun) -> list[str]:
    found = platform(run)["problems"]
    assert isinstance(found, list)
    return [str(p["message"]) for p in found]


def os_id(run: ChildRun) -> object:
    found = platform(run)["os"]
    return found["id"] if isinstance(found, dict) else None


def measured(run: ChildRun, clean: ChildRun, margin: int, record_property: Callable[[str, object], None]) -> None:
    """Record the run's figures and check its peak memory against the clean run's plus ``margin``."""
    record_property("peak_rss_mib", round(run.peak_rss / MiB, 1))
    record_property("clean_peak_rss_mib", round(clean.peak_rss / MiB, 1))
    record_property("seconds", round(run.seconds, 1))
    record_property("tried", 1)
    record_property("held", 1)
    assert run.peak_rss <= clean.peak_rss + margin, (run.peak_rss / MiB, clean.peak_rss / MiB)


def failed_with(run: ChildRun, text: str) -> None:
    assert run.exit_code == 1, (run.exit_code, run.stderr[-2000:])
    assert text in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]


def test_a_gzip_bomb_streams_through_and_the_wanted_file_is_skipped_with_a_problem(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    """2 GiB of zeros in 2 MB, as the dpkg database: over the file limit, so it is not read; the rest is."""
    bomb = stream_layer([(member("etc/os-release", DEBIAN) + tar_header("var/lib/dpkg/status", 2 * GiB), 1),
                         (ZEROS, 32), (END_OF_ARCHIVE, 1)])
    assert bomb.uncompressed_size > 500 * len(bomb.blob)
    push_raw_image(registry, "hostile/gzip-bomb", "1", [bomb])
    run = lookout_analyze(registry, "hostile/gzip-bomb:1")
    assert run.exit_code == 0, run.stderr
    assert os_id(run) == "debian" and packages(run) == []
    assert problems(run) == [f"not read: {2 * GiB} bytes is over the {LIMITS.max_file_bytes} bytes limit"]
    measured(run, clean, STREAMING_MARGIN, record_property)


def test_a_zstd_bomb_past_the_layer_limit_fails_at_the_limit(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    """One file of 33 GiB (its size in GNU base-256) in about 1 MB: the decompression stops at 32 GiB."""
    size = LIMITS.max_layer_bytes + GiB
    bomb = stream_layer([(tar_header("srv/huge", size), 1), (ZEROS, size // len(ZEROS)), (END_OF_ARCHIVE, 1)],
                        "zstd", hash_content=False)
    assert len(bomb.blob) < 4 * MiB
    push_raw_image(registry, "hostile/zstd-bomb", "1", [bomb])
    run = lookout_analyze(registry, "hostile/zstd-bomb:1", timeout=90)
    failed_with(run, f"the layer decompresses to more than {LIMITS.max_layer_bytes} bytes")
    measured(run, clean, STREAMING_MARGIN, record_property)


def million_entries() -> bytes:
    """4,096 empty-file headers, repeated to make a layer of more than a million entries."""
    return b"".join(tar_header(f"d/{i:05d}") for i in range(4096))


def million_entry_layer() -> tuple[bytes, int]:
    chunk = million_entries()
    repeats = LIMITS.max_entries_per_layer // 4096 + 1
    return chunk, repeats


def test_a_layer_of_a_million_entries_fails_at_the_entry_limit(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    chunk, repeats = million_entry_layer()
    assert 4096 * repeats > LIMITS.max_entries_per_layer
    push_raw_image(registry, "hostile/million", "1", [stream_layer([(chunk, repeats), (END_OF_ARCHIVE, 1)])])
    run = lookout_analyze(registry, "hostile/million:1")
    failed_with(run, f"the layer has more than {LIMITS.max_entries_per_layer} entries")
    record_property("entries", 4096 * repeats)
    measured(run, clean, STREAMING_MARGIN, record_property)


def test_a_huge_file_a_cataloger_reads_is_held_once(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    """60 MiB of one line as the dpkg database: under the file limit, so it is read and parsed (to nothing)."""
    huge = b"A" * (60 * MiB)
    push_raw_image(registry, "hostile/huge-file", "1", [stream_layer(
        [(member("etc/os-release", DEBIAN) + member("var/lib/dpkg/status", huge) + END_OF_ARCHIVE, 1)])])
    run = lookout_analyze(registry, "hostile/huge-file:1")
    assert run.exit_code == 0, run.stderr
    assert os_id(run) == "debian" and packages(run) == []
    measured(run, clean, FILE_MARGIN, record_property)


def test_names_that_climb_out_of_the_root_are_skipped_and_absolute_ones_stay_inside(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    evil = b"Package: evil\nStatus: install ok installed\nVersion: 6.6.6\nArchitecture: all\n\n"
    push_raw_image(registry, "hostile/paths", "1", [tar_layer([
        member("/etc/os-release", DEBIAN),
        member("../../usr/lib/os-release", ALPINE),
        member("./../etc/alpine-release", b"3.19.0\n"),
        member("usr/../../../var/lib/dpkg/status", evil),
        member("/var/lib/dpkg/status", STATUS),
        member("var/lib/dpkg/status.old", kind=HARD_LINK, linkname="../../../etc/shadow"),
        member("usr/lib/os-release", kind=SYMLINK, linkname="../../../../../../../etc/os-release"),
    ])])
    run = lookout_analyze(registry, "hostile/paths:1")
    assert run.exit_code == 0, run.stderr
    assert os_id(run) == "debian"
    assert packages(run) == packages(clean)
    assert sorted(problems(run)) == sorted(f"unsafe path {name!r} skipped" for name in (
        "../../usr/lib/os-release", "./../etc/alpine-release", "usr/../../../var/lib/dpkg/status"))
    measured(run, clean, STREAMING_MARGIN, record_property)


def test_symbolic_link_loops_end_in_problems(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    chain = [member(f"c/{i}", kind=SYMLINK, linkname=f"{i + 1}") for i in range(100)]
    push_raw_image(registry, "hostile/loops", "1", [tar_layer([
        member("etc/os-release", kind=SYMLINK, linkname="../usr/lib/os-release"),
        member("usr/lib/os-release", kind=SYMLINK, linkname="../../etc/os-release"),
        member("loop", kind=SYMLINK, linkname="loop"),
        member("a", kind=SYMLINK, linkname="b"),
        member("b", kind=SYMLINK, linkname="a"),
        member("var/lib/dpkg/status", kind=SYMLINK, linkname="status"),
        member("var/lib/dpkg", kind=SYMLINK, linkname="../../var/lib/dpkg"),
        *chain,
        member("c/100", kind=SYMLINK, linkname="/c/0"),
    ])])
    run = lookout_analyze(registry, "hostile/loops:1")
    assert run.exit_code == 0, run.stderr
    assert os_id(run) is None and packages(run) == []
    hops = LIMITS.max_symlink_hops
    assert f"/etc/os-release: more than {hops} symbolic links (a loop?)" in problems(run)
    measured(run, clean, STREAMING_MARGIN, record_property)


def test_descriptors_that_lie_about_sizes_are_caught(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    small = tar_layer([member("etc/os-release", DEBIAN)])
    push_raw_image(registry, "hostile/claims", "100mb", [small], claimed_sizes={"0": 100_000_000})
    push_raw_image(registry, "hostile/claims", "9gib", [small], claimed_sizes={"0": 9 * GiB})
    claimed_100mb = lookout_analyze(registry, "hostile/claims:100mb")
    failed_with(claimed_100mb, f"the server announces {len(small.blob)} bytes, the descriptor says 100000000")
    claimed_9gib = lookout_analyze(registry, "hostile/claims:9gib")
    failed_with(claimed_9gib, f"the image's layers add up to {9 * GiB} bytes; the limit is {LIMITS.max_image_bytes}")
    measured(max(claimed_100mb, claimed_9gib, key=lambda r: r.peak_rss), clean, STREAMING_MARGIN, record_property)


def test_a_50_mb_config_is_not_downloaded_whether_its_descriptor_says_so_or_lies(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    small = tar_layer([member("etc/os-release", DEBIAN)])
    config = image_config([small], padding=50 * MiB)
    push_raw_image(registry, "hostile/config", "honest", [small], config=config)
    push_raw_image(registry, "hostile/config", "lying", [small], config=config, claimed_sizes={"config": 1000})
    honest = lookout_analyze(registry, "hostile/config:honest")
    failed_with(honest, f"config of {len(config)} bytes is over {4 * MiB}")
    lying = lookout_analyze(registry, "hostile/config:lying")
    failed_with(lying, f"{len(config)} bytes is more than the {4 * MiB} allowed")
    measured(max(honest, lying, key=lambda r: r.peak_rss), clean, STREAMING_MARGIN, record_property)


def test_a_100_mb_manifest_is_refused_at_the_manifest_cap(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    """Served by the proxy: 100 MB announced, then the same without ``Content-Length`` (chunked, endless)."""
    push_raw_image(registry, "hostile/manifest", "1", [tar_layer([member("etc/os-release", DEBIAN)])])
    with FaultyProxy(registry) as proxy:
        proxy.inject(faults.endless(100_000_000), front="registry", path="/manifests/", authorized=True)
        announced = lookout_analyze(registry, "hostile/manifest:1", host=proxy.host)
        proxy.inject(faults.endless(None), front="registry", path="/manifests/", authorized=True)
        chunked = lookout_analyze(registry, "hostile/manifest:1", host=proxy.host)
    failed_with(announced, f"100000000 bytes is more than the {4 * MiB} allowed")
    failed_with(chunked, f"more than the {4 * MiB} bytes allowed")
    measured(max(announced, chunked, key=lambda r: r.peak_rss), clean, STREAMING_MARGIN, record_property)


def test_an_index_that_names_itself_or_nests_is_refused(
    registry: RegistryServer, clean: ChildRun, record_property: Callable[[str, object], None]
) -> None:
    """A registry cannot store an index that lists its own digest (content addressing forbids it), so the
    proxy serves one: asked for the child, it answers with the index itself. An index listing an index
    is stored for real."""
    child = push_raw_image(registry, "hostile/index", "child", [tar_layer([member("etc/os-release", DEBIAN)])])
    index = push_raw_index(registry, "hostile/index", "self", [(child.digest, len(child.manifest), child.media_type)])
    push_raw_index(registry, "hostile/index", "nested", [(index.digest, len(index.manifest), index.media_type)])
    with FaultyProxy(registry) as proxy:
        proxy.inject(faults.substitute(index.manifest, mediatypes.OCI_INDEX), front="registry",
                     path=f"/manifests/{child.digest}", authorized=True, times=10)
        itself = lookout_analyze(registry, "hostile/index:self", host=proxy.host)
    failed_with(itself, f"hostile/index@{child.digest}: the registry's manifest hashes to {index.digest}")
    nested = lookout_analyze(registry, "hostile/index:nested")
    failed_with(nested, "an index nested in an index is not supported")
    measured(max(itself, nested, key=lambda r: r.peak_rss), clean, STREAMING_MARGIN, record_property)


@pytest.mark.parametrize(("name", "created"), [("year-9", "0009-01-01T00:00:00Z"),
                                             ("before-year-1", "0001-01-01T00:00:00+14:00"),
                                             ("after-year-9999", "9999-12-31T23:59:59-14:00")])
def test_a_config_time_that_cannot_be_ordered_does_not_win_the_latest_image(
    registry: RegistryServer, name: str, created: str, record_property: Callable[[str, object], None]
) -> None:
    """Such a ``created`` must neither make the search for a repository's latest image raise nor win it."""
    repository = f"hostile/created-{name}"
    layer = tar_layer([member("etc/os-release", DEBIAN)])
    push_raw_image(registry, repository, "odd", [layer], config=image_config([layer], created=created))
    newest = push_raw_image(registry, repository, "newest", [layer],
                            config=image_config([layer], created="2025-06-01T00:00:00Z"))
    with registry.client(registry.readonly) as client:
        latest = latest_image(client, repository)
    assert latest is not None and (latest.tag, latest.digest) == ("newest", str(newest.digest))
    record_property("tried", 1)
    record_property("held", 1)


@pytest.mark.e2e
def test_the_served_app_records_a_hostile_image_as_failed_and_keeps_serving(
    stack: Stack, record_property: Callable[[str, object], None]
) -> None:
    repository = "hostile/served"
    stack.activate(repository)
    chunk, repeats = million_entry_layer()
    hostile = push_raw_image(stack.registry, repository, "bad", [stream_layer([(chunk, repeats), (END_OF_ARCHIVE, 1)])])
    healthy = push_image(stack.registry, repository, "good", [{"etc/os-release": DEBIAN}])
    answer = stack.post_events([image_pushed(stack.registry.host, repository, str(hostile.digest), "bad",
                                             hostile.media_type, len(hostile.manifest))])
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    served = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        listed = stack.http.get(f"{stack.app.url}/api/integrations", timeout=30)
        assert listed.status_code == 200, listed.text
        served += 1
        record = stack.svc.images.get(stack.registry.host, repository, str(hostile.digest))
        if record is not None and record.status == "failed":
            break
        time.sleep(0.2)
    record = stack.svc.images.get(stack.registry.host, repository, str(hostile.digest))
    assert record is not None and record.status == "failed", record
    assert record.error_code == "limit-exceeded"
    assert f"more than {LIMITS.max_entries_per_layer} entries" in (record.error or "")
    answer = stack.post_events([image_pushed(stack.registry.host, repository, str(healthy.digest), "good",
                                             healthy.media_type, healthy.size)])
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    image = stack.wait_for_image(repository, "good")
    assert image["platforms"][0]["distro"] == "Debian GNU/Linux 12 (bookworm)"
    assert stack.app.process is not None and stack.app.process.poll() is None
    status = Path(f"/proc/{stack.app.process.pid}/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024
    record_property("requests_served_meanwhile", served)
    record_property("app_peak_rss_mib", round(peak / MiB, 1))
    record_property("tried", 1)
    record_property("held", 1)
