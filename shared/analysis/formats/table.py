"""A plain-text table of an analysis, one block per platform (the command line's default output)."""

from __future__ import annotations

from shared.analysis.model import ImageAnalysis


def to_table(analysis: ImageAnalysis) -> str:
    """``NAME VERSION TYPE`` rows per platform, under a header naming the platform, digest and distribution."""
    blocks: list[str] = []
    for platform in analysis.platforms:
        distro = platform.os.pretty_name or platform.os.distro if platform.os else "unknown distribution"
        lines = [f"{analysis.reference} {platform.platform} {platform.digest}", f"{distro}, {len(platform.packages)} packages"]
        rows = [("NAME", "VERSION", "TYPE")] + [(p.name, p.version, p.type) for p in platform.packages]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines.extend(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip() for row in rows)
        for problem in platform.problems:
            where = f" {problem.path}" if problem.path else ""
            lines.append(f"problem ({problem.source}){where}: {problem.message}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
