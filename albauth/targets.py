"""Choosing a target for a forward action, as ALB does: the weighted choice between target groups
(sticky through AWSALBTG when the action's TargetGroupStickinessConfig is on), then inside the
group round robin or least outstanding requests (`load_balancing.algorithm.type`), sticky
through AWSALB when the group's `stickiness.enabled` is on with `lb_cookie`.

A target that refuses a connection is skipped for the group's `unreachable_pause` (albauth's
passive health: ALB's health checks would take it out of rotation); when every target is
paused, all are tried (ALB "fails open" when no target is healthy).

Stickiness cookies name a target or a group by an opaque token: a forged one can only choose
among the configured targets, and an unknown one is ignored (a fresh choice is made).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate

from yarl import URL

from albauth.config.model import ForwardAction, TargetGroup

__all__ = ["Choice", "TargetPicker"]

TARGET_COOKIE, TARGET_CORS_COOKIE = "AWSALB", "AWSALBCORS"
GROUP_COOKIE, GROUP_CORS_COOKIE = "AWSALBTG", "AWSALBTGCORS"


def _token(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _sticky_cookies(name: str, cors_name: str, token: str, seconds: int) -> tuple[str, str]:
    """ALB sets both: the plain cookie, and the CORS one with SameSite=None; Secure."""
    expires = formatdate(time.time() + seconds, usegmt=True)
    plain = f"{name}={token}; Expires={expires}; Path=/"
    return plain, f"{cors_name}={token}; Expires={expires}; Path=/; SameSite=None; Secure"


@dataclass
class Choice:
    """The target for one request, the cookies that keep the client on it, and `done`, called
    once the request is over (True when the target refused the connection)."""

    url: URL
    set_cookies: tuple[str, ...] = ()
    done: Callable[[bool], None] = field(default=lambda unreachable: None)
    group: str = ""  # the target group's name (the access log's target_group_arn)


class _Group:
    def __init__(self, group: TargetGroup) -> None:
        self.group = group
        self.targets = [URL(t) for t in group.targets]
        self.tokens = {_token(group.name, t): i for i, t in enumerate(group.targets)}
        self.outstanding = [0] * len(self.targets)
        self.paused_until = [0.0] * len(self.targets)
        self._turn = itertools.count()

    def choose(self, cookies: Callable[[], Mapping[str, str]]) -> Choice | None:
        if not self.targets:
            return None
        now = time.monotonic()
        up = [i for i in range(len(self.targets)) if self.paused_until[i] <= now] or list(range(len(self.targets)))
        index = self._sticky(cookies, up)
        if index is None:
            index = self._next(up)
        self.outstanding[index] += 1
        cookies_out: tuple[str, ...] = ()
        if self.group.stickiness_seconds:
            token = _token(self.group.name, self.group.targets[index])
            cookies_out = _sticky_cookies(TARGET_COOKIE, TARGET_CORS_COOKIE, token, self.group.stickiness_seconds)
        return Choice(self.targets[index], cookies_out, lambda unreachable: self._done(index, unreachable))

    def _sticky(self, cookies: Callable[[], Mapping[str, str]], up: list[int]) -> int | None:
        if not self.group.stickiness_seconds:
            return None
        sent = cookies()
        index = self.tokens.get(sent.get(TARGET_COOKIE) or sent.get(TARGET_CORS_COOKIE) or "")
        return index if index in up else None

    def _next(self, up: list[int]) -> int:
        start = next(self._turn)
        if self.group.algorithm == "least_outstanding_requests":
            # The fewest requests in flight; ties go round robin so that idle targets share.
            order = [up[(start + k) % len(up)] for k in range(len(up))]
            return min(order, key=lambda i: self.outstanding[i])
        return up[start % len(up)]

    def _done(self, index: int, unreachable: bool) -> None:
        self.outstanding[index] -= 1
        if unreachable and self.group.unreachable_pause:
            self.paused_until[index] = time.monotonic() + self.group.unreachable_pause


class TargetPicker:
    """A target group is a name under `albauth.target_groups`, or a URL standing for a
    group of one."""

    def __init__(self, groups: dict[str, TargetGroup]) -> None:
        self._groups = {name: _Group(g) for name, g in groups.items()}

    def choose(self, action: ForwardAction, cookies: Callable[[], Mapping[str, str]]) -> Choice | None:
        """`cookies`: the request's, read only when a stickiness cookie matters."""
        name, group_cookies = self._group_name(action, cookies)
        group = self._groups.get(name)
        if group is None:
            if not name.startswith(("http://", "https://")):
                return None
            group = self._groups[name] = _Group(TargetGroup(name, (name,)))
        choice = group.choose(cookies)
        if choice is not None:
            choice.group = name
            if group_cookies:
                choice.set_cookies = (*choice.set_cookies, *group_cookies)
        return choice

    def _group_name(self, action: ForwardAction,
                    cookies: Callable[[], Mapping[str, str]]) -> tuple[str, tuple[str, ...]]:
        """The group, and the AWSALBTG cookies that keep the client on it (none without
        TargetGroupStickinessConfig)."""
        groups = action.target_groups
        if len(groups) == 1:
            return groups[0].name, ()
        if action.group_stickiness_seconds:
            sent = cookies().get(GROUP_COOKIE) or cookies().get(GROUP_CORS_COOKIE)
            by_token = {_token("group", g.name): g.name for g in groups if g.weight > 0}
            name = by_token.get(sent or "")
            if name is None:
                name = random.choices([g.name for g in groups], weights=[g.weight for g in groups])[0]
            return name, _sticky_cookies(GROUP_COOKIE, GROUP_CORS_COOKIE, _token("group", name),
                                         action.group_stickiness_seconds)
        return random.choices([g.name for g in groups], weights=[g.weight for g in groups])[0], ()
