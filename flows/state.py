"""What every flow keeps between messages (`State`) and what one step returns (`Step`).

A state's `name` is one of its flow's state enum (`HeadmasterState`, `OfficerState`): a
`StrEnum`, so it is stored in the `conversation.state` column as the same string it always
was, and a name read back from the database (a plain string) compares equal to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flows import effects as fx

IDLE = "idle"  # every flow's resting state (HeadmasterState.IDLE == OfficerState.IDLE == IDLE)


@dataclass(frozen=True)
class State:
    name: str = IDLE
    context: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "context": self.context}, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> State:
        loaded = json.loads(raw)
        return cls(loaded["name"], loaded["context"])

    def with_(self, name: str | None = None, **context: Any) -> State:
        merged = {**self.context, **context}
        return State(name or self.name, {k: v for k, v in merged.items() if v is not None})


@dataclass
class Step:
    """The outcome of one step: the state to keep and the effects to apply, in order."""

    state: State
    effects: list[fx.Effect] = field(default_factory=list)

    def say(self, key: str, options: tuple[str, ...] = (), /, **params: Any) -> Step:
        project_id = params.pop("project_id", None)
        task_id = params.pop("task_id", None)
        self.effects.append(fx.Reply(key, params, options, project_id, task_id))
        return self

    def do(self, *effects: fx.Effect) -> Step:
        self.effects.extend(effects)
        return self
