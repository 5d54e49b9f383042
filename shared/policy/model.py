"""Policy results: what evaluating a policy against one image gave, and how results changed.

A result is ``pass``, ``fail`` or ``unknown`` (the evidence to decide is missing: ``reasons`` say what);
``reasons`` name what is at fault (the package, the advisory) and are bounded: at most
:data:`MAX_REASONS` are kept, ``omitted`` counts the rest. Values only; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["pass", "fail", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "unknown")

MAX_REASONS = 50
"""How many reasons one result keeps (the first ones, in the policy's order)."""
MAX_REASON_CHARS = 300
"""How long one reason's text may be; longer texts are cut with an ellipsis."""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Reason:
    """Why a policy did not pass: a sentence, and the package URL and advisory id it concerns when it concerns one."""

    text: str
    package: str = ""
    advisory: str = ""

    def to_json(self) -> dict[str, str]:
        document = {"text": self.text}
        if self.package:
            document["package"] = self.package
        if self.advisory:
            document["advisory"] = self.advisory
        return document

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> Reason:
        return Reason(text=str(value.get("text", "")), package=str(value.get("package", "")),
                      advisory=str(value.get("advisory", "")))


@dataclass(frozen=True)
class PolicyResult:
    """One policy's result for one image: the policy's ``id``, ``version`` and ``title``, the ``outcome`` and its
    ``reasons`` (at most :data:`MAX_REASONS`; ``omitted`` more were found)."""

    id: str
    version: int
    title: str
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    omitted: int = 0

    @staticmethod
    def of(id: str, version: int, title: str, outcome: Outcome, reasons: list[Reason] | tuple[Reason, ...] = ()
           ) -> PolicyResult:
        """A result keeping the first :data:`MAX_REASONS` of ``reasons`` (texts cut to :data:`MAX_REASON_CHARS`)."""
        kept = tuple(Reason(_cut(r.text, MAX_REASON_CHARS), _cut(r.package, MAX_REASON_CHARS),
                            _cut(r.advisory, 100)) for r in list(reasons)[:MAX_REASONS])
        return PolicyResult(id, version, title, outcome, kept, max(0, len(reasons) - MAX_REASONS))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "title": self.title, "result": self.outcome,
                "reasons": [r.to_json() for r in self.reasons], "omitted": self.omitted}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> PolicyResult:
        outcome = str(value.get("result", "unknown"))
        return PolicyResult(id=str(value["id"]), version=int(value.get("version", 1)), title=str(value.get("title", "")),
                            outcome=outcome if outcome in OUTCOMES else "unknown",
                            reasons=tuple(Reason.from_json(r) for r in value.get("reasons") or ()),
                            omitted=int(value.get("omitted", 0)))


@dataclass(frozen=True)
class PolicyEvaluation:
    """Every enabled policy's result for one image, in the order of :data:`~shared.policy.evaluate.POLICIES`;
    ``evaluated`` is when (canonical UTC time); ``disabled`` the ids of the policies switched off for it."""

    results: tuple[PolicyResult, ...]
    evaluated: str
    disabled: tuple[str, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        """``{"pass": n, "fail": n, "unknown": n}``: how many enabled policies had each outcome."""
        return {outcome: sum(1 for r in self.results if r.outcome == outcome) for outcome in OUTCOMES}

    @property
    def failed(self) -> bool:
        """Whether some policy failed."""
        return any(r.outcome == "fail" for r in self.results)

    def result(self, policy_id: str) -> PolicyResult | None:
        """The result of policy ``policy_id``, None when it was not evaluated."""
        return next((r for r in self.results if r.id == policy_id), None)

    def same_results(self, other: PolicyEvaluation | None) -> bool:
        """Whether ``other`` has the same results (the evaluation time aside)."""
        return other is not None and (self.results, self.disabled) == (other.results, other.disabled)

    def to_json(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, "summary": self.summary, "results": [r.to_json() for r in self.results],
                "disabled": list(self.disabled)}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> PolicyEvaluation:
        return PolicyEvaluation(results=tuple(PolicyResult.from_json(r) for r in value.get("results") or ()),
                                evaluated=str(value.get("evaluated", "")),
                                disabled=tuple(str(d) for d in value.get("disabled") or ()))


@dataclass(frozen=True)
class StoredPolicies:
    """What is stored of an image's policies: the ``current`` evaluation and the ``previous`` one whose results
    differed from it (None before the first change)."""

    current: PolicyEvaluation
    previous: PolicyEvaluation | None = None


@dataclass(frozen=True)
class PolicyChange:
    """A policy whose outcome changed: ``before`` is None when it was not evaluated before (new, or re-enabled)."""

    id: str
    title: str
    before: Outcome | None
    after: Outcome

    @property
    def now_failing(self) -> bool:
        """Whether the policy turned to ``fail`` from a pass, an unknown or from not being evaluated."""
        return self.after == "fail" and self.before != "fail"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "before": self.before, "after": self.after}


def policy_changes(old: PolicyEvaluation | None, new: PolicyEvaluation) -> tuple[PolicyChange, ...]:
    """The policies of ``new`` whose outcome differs from ``old``'s (all of them when ``old`` is None), in
    ``new``'s order. A policy ``old`` had and ``new`` lacks (switched off) is no change."""
    before = {r.id: r.outcome for r in old.results} if old is not None else {}
    return tuple(PolicyChange(r.id, r.title, before.get(r.id), r.outcome)
                 for r in new.results if before.get(r.id) != r.outcome)
