"""A registry that misbehaves on the wire, through :class:`~testkit.faulty_proxy.FaultyProxy`.

The analysis (:func:`shared.analysis.analyze_image` with a memory cache, as ``lookout analyze`` runs
it) reads a real image from the session's registry through the proxy, which throttles (429 and 503
with ``Retry-After``), resets connections, cuts bodies short, changes bytes, and sends slowly or
stalls. Whatever happens, the outcome is the complete, correct SBOM, or a failure with a clear code
and the right ``temporary`` flag — never a wrong SBOM — and retries stay bounded: the proxy counts
every request.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.analysis import ImageAnalysis, MemoryLayerCache, analyze_image
from shared.errors import LookoutError
from shared.registry import RegistryClient
from shared.registry.errors import Throttled
from shared.registry.transport import RetryPolicy, Timeout
from testkit import faulty_proxy as faults
from testkit.faulty_proxy import Fault, FaultyProxy, Front
from testkit.images import PushedImage, make_layer, push_image, tree_entries
from testkit.registry import RegistryServer

pytestmark = pytest.mark.timeout(120)

TESTDATA = Path(__file__).resolve().parents[1] / "analysis" / "testdata"
REPOSITORY = "faults/wire"
TAG = "v1"
ATTEMPTS = 4
RETRY = RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.05, max_delay=0.2)
"""The default policy's shape (four tries, jittered backoff, ``Retry-After`` honoured up to 30 s), with short waits."""
TIMEOUT = Timeout(connect=5.0, read=1.5)

PERMANENT = frozenset({"digest-mismatch"})
TEMPORARY = frozenset({"registry-unreachable", "registry-unavailable", "throttled"})


@dataclass(frozen=True)
class Sbom:
    """What must come out identical whenever an analysis completes: the OS, packages and problems per platform."""

    platforms: tuple[tuple[str, str | None, tuple[str, ...], tuple[str, ...]], ...]

    @staticmethod
    def of(analysis: ImageAnalysis) -> Sbom:
        return Sbom(tuple(
            (p.platform, p.os.id if p.os else None, tuple(sorted(f"{k.purl} {k.layer}" for k in p.packages)),
             tuple(sorted(x.message for x in p.problems)))
            for p in analysis.platforms))


@pytest.fixture(scope="module")
def image(registry: RegistryServer) -> PushedImage:
    """Three layers of megabytes, one per compression: Debian with dpkg packages, Python packages, filler.

    The filler is incompressible, so that every download spans many reads and a fault early in a
    blob is met long before its end (where the digest is checked).
    """
    filler = random.Random(7).randbytes(3 * 1024 * 1024)
    debian = {**tree_entries(TESTDATA / "distro" / "debian"), **tree_entries(TESTDATA / "dpkg")}
    layers = [
        make_layer({**debian, "/srv/base.bin": filler[: 2 * 1024 * 1024]}, "gzip"),
        make_layer({**tree_entries(TESTDATA / "python"), "/srv/filler.bin": filler}, "zstd"),
        make_layer({"/srv/more.bin": filler[: 1024 * 1024]}, "none"),
    ]
    return push_image(registry, REPOSITORY, TAG, layers)


@pytest.fixture(scope="module")
def expected(registry: RegistryServer, image: PushedImage) -> Sbom:
    with registry.client(registry.readonly) as client:
        sbom = Sbom.of(analyze_image(client, REPOSITORY, TAG, cache=MemoryLayerCache()))
    assert sbom.platforms[0][2], "the image must have packages for the comparison to mean something"
    return sbom


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultyProxy]:
    with FaultyProxy(registry) as running:
        yield running


def analyze_through(proxy: FaultyProxy, registry: RegistryServer) -> ImageAnalysis | LookoutError:
    """The analysis through the proxy, or the error it ended with."""
    client = RegistryClient(proxy.host, registry.readonly, insecure=True, retry=RETRY, timeout=TIMEOUT)
    try:
        with client:
            return analyze_image(client, REPOSITORY, TAG, cache=MemoryLayerCache())
    except LookoutError as error:
        return error


def where(image: PushedImage, target: str) -> tuple[Front, str, bool | None]:
    """The proxy front, path substring and authorization of the requests for ``target``.

    ``manifest``, ``config`` or ``layer0``..``layer2`` (their downloads, on the blob front).
    """
    if target == "manifest":
        return "registry", "/manifests/", True
    if target == "config":
        return "blob", image.config_digest.hex, None
    return "blob", image.layers[int(target[-1])].digest.hex, None


@dataclass(frozen=True)
class Case:
    """Faults to inject and what they must lead to.

    ``outcome``: ``None`` (the complete SBOM) or an error code; ``faulted_requests``: how many requests
    meet a fault; ``extra_requests``: how many more requests than a clean run a completed analysis
    sends (a retried download asks the registry again, then the blob host).
    """

    name: str
    plan: tuple[tuple[Fault, str, int], ...]
    outcome: str | None
    faulted_requests: int
    extra_requests: int = 0


def layer_size(image: PushedImage, index: int) -> int:
    return image.layers[index].size


CASES = [
    Case("429 Retry-After 1 on the manifest, twice", ((faults.answer(429, retry_after="1"), "manifest", 2),), None, 2, 2),
    Case("503 Retry-After 0 on a layer, three times", ((faults.answer(503, retry_after="0"), "layer1", 3),), None, 3, 6),
    Case("503 on a layer every time", ((faults.answer(503), "layer0", ATTEMPTS),), "registry-unavailable", ATTEMPTS),
    Case("429 asking for an hour", ((faults.answer(429, retry_after="3600"), "manifest", 1),), "throttled", 1),
    Case("connection reset on the config, twice", ((faults.reset(), "config", 2),), None, 2, 4),
    Case("connection reset on a layer every time", ((faults.reset(), "layer2", ATTEMPTS),), "registry-unreachable",
         ATTEMPTS),
    Case("reset in the middle of a layer", ((faults.reset_mid_body(100_000), "layer1", 1),), "registry-unreachable", 1),
    Case("a layer cut short", ((faults.truncate(200_000), "layer1", 1),), "registry-unreachable", 1),
    Case("a byte changed early in a gzip layer", ((faults.corrupt(10), "layer0", 1),), "digest-mismatch", 1),
    Case("a byte changed early in a zstd layer", ((faults.corrupt(10), "layer1", 1),), "digest-mismatch", 1),
    Case("a byte changed late in a zstd layer", ((faults.corrupt(3_000_000), "layer1", 1),), "digest-mismatch", 1),
    Case("a tar header changed in an uncompressed layer", ((faults.corrupt(100), "layer2", 1),), "digest-mismatch", 1),
    Case("file content changed in an uncompressed layer", ((faults.corrupt(700), "layer2", 1),), "digest-mismatch", 1),
    Case("a byte changed in the config", ((faults.corrupt(40), "config", 1),), "digest-mismatch", 1),
    Case("a byte changed in the manifest", ((faults.corrupt(60), "manifest", 1),), "digest-mismatch", 1),
    Case("a slow layer", ((faults.slow(64 * 1024, 0.005), "layer1", 1),), None, 1),
    Case("a layer that stalls past the read timeout", ((faults.stall(100_000, 3.0), "layer1", 1),),
         "registry-unreachable", 1),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_misbehaving_registry_yields_the_right_sbom_or_a_clear_failure(
    registry: RegistryServer, image: PushedImage, expected: Sbom, proxy: FaultyProxy, case: Case,
    record_property: Callable[[str, object], None],
) -> None:
    clean = analyze_through(proxy, registry)
    assert isinstance(clean, ImageAnalysis) and Sbom.of(clean) == expected
    baseline = len(proxy.exchanges)
    proxy.clear()
    for fault, target, times in case.plan:
        front, path, authorized = where(image, target)
        proxy.inject(fault, front=front, path=path, authorized=authorized, times=times)
    outcome = analyze_through(proxy, registry)
    faulted = sum(1 for e in proxy.exchanges if e.fault is not None)
    record_property("requests", len(proxy.exchanges))
    record_property("baseline_requests", baseline)
    if case.outcome is None:
        assert isinstance(outcome, ImageAnalysis), outcome
        assert Sbom.of(outcome) == expected
    else:
        assert isinstance(outcome, LookoutError), outcome
        assert outcome.code == case.outcome, (outcome.code, outcome.message)
        assert outcome.temporary == (case.outcome in TEMPORARY), outcome
        assert outcome.message
    assert faulted == case.faulted_requests, proxy.exchanges
    assert len(proxy.exchanges) <= baseline * ATTEMPTS  # bounded, whatever the faults
    if case.outcome is None:
        assert len(proxy.exchanges) == baseline + case.extra_requests, proxy.exchanges
    if isinstance(outcome, Throttled):
        assert outcome.retry_after == 3600
    record_property("tried", 1)
    record_property("held", 1)


CHAOS_RUNS = 40
CHAOS_FAULTS: list[Callable[[random.Random, PushedImage], tuple[Fault, str]]] = [
    lambda rng, _: (faults.answer(rng.choice([429, 502, 503, 504]), retry_after=rng.choice([None, "0"])),
                    rng.choice(["manifest", "config", "layer0", "layer1", "layer2"])),
    lambda rng, _: (faults.reset(), rng.choice(["manifest", "config", "layer0", "layer1", "layer2"])),
    lambda rng, img: (faults.reset_mid_body(rng.randrange(1, layer_size(img, 1))), "layer1"),
    lambda rng, img: (faults.truncate(rng.randrange(0, layer_size(img, 0))), "layer0"),
    lambda rng, img: (faults.corrupt(rng.randrange(0, layer_size(img, 2))), "layer2"),
    lambda rng, img: (faults.corrupt(rng.randrange(0, layer_size(img, 1))), "layer1"),
    lambda rng, _: (faults.corrupt(rng.randrange(0, 200)), rng.choice(["manifest", "config"])),
    lambda rng, _: (faults.slow(rng.choice([16_384, 65_536]), 0.001), rng.choice(["layer0", "layer1"])),
    lambda rng, _: (faults.answer(200, body=b"{}"), rng.choice(["config", "layer0"])),
]


def test_random_fault_plans_never_yield_a_wrong_sbom(
    registry: RegistryServer, image: PushedImage, expected: Sbom, proxy: FaultyProxy,
    record_property: Callable[[str, object], None],
) -> None:
    clean = analyze_through(proxy, registry)
    assert isinstance(clean, ImageAnalysis)
    baseline = len(proxy.exchanges)
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    for run in range(CHAOS_RUNS):
        proxy.clear()
        plan = [rng.choice(CHAOS_FAULTS)(rng, image) for _ in range(rng.randint(1, 3))]
        for fault, target in plan:
            front, path, authorized = where(image, target)
            proxy.inject(fault, front=front, path=path, authorized=authorized, times=rng.randint(1, ATTEMPTS))
        outcome = analyze_through(proxy, registry)
        context = (seed, run, plan, proxy.exchanges)
        if isinstance(outcome, ImageAnalysis):
            assert Sbom.of(outcome) == expected, context
            key = "complete"
        else:
            assert outcome.code in PERMANENT | TEMPORARY, (outcome.code, outcome.message, context)
            assert outcome.temporary == (outcome.code in TEMPORARY), context
            key = outcome.code
        assert len(proxy.exchanges) <= baseline * ATTEMPTS, context
        outcomes[key] = outcomes.get(key, 0) + 1
    record_property("tried", CHAOS_RUNS)
    record_property("held", CHAOS_RUNS)
    record_property("outcomes", dict(sorted(outcomes.items())))
    record_property("seed", seed)
