"""A small OCI distribution (Docker registry) client built on ``requests``.

The package reads images from a registry such as Azure Container Registry without any Azure SDK. Its
layout follows the concerns of a registry client:

- :mod:`.reference` parses and validates names, tags and digests (no I/O);
- :mod:`.mediatypes` and :mod:`.model` are the data model: descriptors, manifests, indexes, platforms;
- :mod:`.auth` says where credentials come from and runs the Basic and Bearer-token flows;
- :mod:`.transport` sends HTTP requests with timeouts, retries and safe redirects;
- :mod:`.client` is the registry API itself, which verifies every byte it hands back;
- :mod:`.errors` is the registry's branch of Lookout's error hierarchy.
"""

from __future__ import annotations

from shared.registry.auth import Credentials
from shared.registry.client import BlobReader, RegistryClient, RegistryResponse
from shared.registry.errors import (
    BlobUnknown,
    Denied,
    DigestMismatch,
    InsecureNotAllowed,
    InvalidManifest,
    InvalidReference,
    ManifestUnknown,
    NameUnknown,
    NotARegistry,
    NotSupported,
    RegistryError,
    RegistryUnavailable,
    RegistryUnreachable,
    Throttled,
    TLSFailure,
    TooLarge,
    Unauthorized,
)
from shared.registry.model import Descriptor, Manifest, Platform, is_attestation
from shared.registry.reference import Digest, Reference
from shared.registry.transport import RetryPolicy, Timeout

__all__ = [
    "BlobReader",
    "BlobUnknown",
    "Credentials",
    "Denied",
    "Descriptor",
    "Digest",
    "DigestMismatch",
    "InsecureNotAllowed",
    "InvalidManifest",
    "InvalidReference",
    "Manifest",
    "ManifestUnknown",
    "NameUnknown",
    "NotARegistry",
    "NotSupported",
    "Platform",
    "Reference",
    "RegistryClient",
    "RegistryError",
    "RegistryResponse",
    "RegistryUnavailable",
    "RegistryUnreachable",
    "RetryPolicy",
    "TLSFailure",
    "Throttled",
    "Timeout",
    "TooLarge",
    "Unauthorized",
    "is_attestation",
]
