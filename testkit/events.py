"""Event Grid deliveries as a container registry sends them (shapes from Microsoft's documented samples)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.ContainerRegistry/registries/reg"
)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def image_pushed(host: str, repository: str, digest: str, tag: str | None, media_type: str, size: int,
                 *, event_id: str | None = None, time: str | None = None) -> dict[str, Any]:
    """One ``Microsoft.ContainerRegistry.ImagePushed`` event in the Event Grid schema."""
    target: dict[str, Any] = {"mediaType": media_type, "size": size, "digest": digest, "length": size,
                              "repository": repository}
    if tag:
        target["tag"] = tag
    return {
        "id": event_id or str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": f"{repository}:{tag}" if tag else repository,
        "eventType": "Microsoft.ContainerRegistry.ImagePushed",
        "eventTime": time or _now(),
        "data": {
            "id": str(uuid.uuid4()),
            "timestamp": time or _now(),
            "action": "push",
            "target": target,
            "request": {"id": str(uuid.uuid4()), "host": host, "method": "PUT", "useragent": "docker/27.0"},
        },
        "dataVersion": "2.0",
        "metadataVersion": "1",
    }


def image_deleted(host: str, repository: str, digest: str, media_type: str,
                  *, event_id: str | None = None, time: str | None = None) -> dict[str, Any]:
    """One ``Microsoft.ContainerRegistry.ImageDeleted`` event in the Event Grid schema."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": repository,
        "eventType": "Microsoft.ContainerRegistry.ImageDeleted",
        "eventTime": time or _now(),
        "data": {
            "id": str(uuid.uuid4()),
            "timestamp": time or _now(),
            "action": "delete",
            "target": {"mediaType": media_type, "digest": digest, "repository": repository},
            "request": {"id": str(uuid.uuid4()), "host": host, "method": "DELETE", "useragent": "az/2.60"},
        },
        "dataVersion": "2.0",
        "metadataVersion": "1",
    }
