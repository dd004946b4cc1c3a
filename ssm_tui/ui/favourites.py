"""Keys 1-9 of the fleet: the favourites from the settings, else the first nine profiles.

`favourites = ["prod", ["dev", "dev-admin"]]` in the settings gives key 1 the prod profile and
key 2 both dev profiles; names the config does not have are left out (a favourite naming only
unknown profiles keeps its number, so the keys do not shift, and does nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from ssm_tui.aws.models import Profile

MAX = 9


def favourites(
    profiles: Sequence[Profile], configured: Sequence[Sequence[str]] = ()
) -> list[tuple[str, tuple[str, ...]]]:
    """(label, profile names) for keys 1..9, in key order."""
    if not configured:
        return [(p.name, (p.name,)) for p in profiles[:MAX]]
    known = {p.name for p in profiles}
    chosen = []
    for entry in list(configured)[:MAX]:
        names = tuple(name for name in entry if name in known)
        chosen.append(("+".join(entry), names))
    return chosen
