"""Choosing a target for a forward action: ALB's weighted choice between target groups,
round robin inside a group."""

from __future__ import annotations

import itertools
import random

from yarl import URL

from albauth.config.model import ForwardAction, TargetGroup

__all__ = ["TargetPicker"]


class TargetPicker:
    """A target group is a name under `albauth.target_groups`, or a URL standing for a
    group of one."""

    def __init__(self, groups: dict[str, TargetGroup]) -> None:
        self._cycles = {name: itertools.cycle([URL(t) for t in g.targets]) for name, g in groups.items()
                        if g.targets}

    def pick(self, action: ForwardAction) -> URL | None:
        return self.target(self.choose(action))

    @staticmethod
    def choose(action: ForwardAction) -> str:
        """The target group (its name) this request goes to."""
        groups = action.target_groups
        if len(groups) == 1:
            return groups[0].name
        return random.choices([g.name for g in groups], weights=[g.weight for g in groups])[0]

    def target(self, name: str) -> URL | None:
        """The group's next target, round robin; None for a group without targets."""
        cycle = self._cycles.get(name)
        if cycle is None:
            if name.startswith(("http://", "https://")):
                self._cycles[name] = cycle = itertools.cycle([URL(name)])
            else:
                return None
        return next(cycle)
