"""A message to render later: its key (the English text) and its values, storable in a job as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.i18n.catalogs import InContext, Plural, pN_, translate
from bot.i18n.formatting import format_day, format_minutes, format_when


@dataclass(frozen=True)
class When:
    """A moment shown in a time zone, in the reader's language."""

    moment: datetime
    timezone: str


@dataclass(frozen=True)
class Day:
    """A calendar day, in the reader's language."""

    day: date


@dataclass(frozen=True)
class Minutes:
    """A duration in minutes, with the reader's plural forms."""

    count: int


Value = Any  # str | int | When | Day | Minutes | Text


@dataclass(frozen=True)
class Text:
    """A text key and its values; `render` puts them together in one language."""

    key: str | Plural
    values: dict[str, Value] = field(default_factory=dict)

    def render(self, language: str) -> str:
        return render_text(language, self.key, self.values)

    def to_json(self) -> dict[str, Any]:
        key: Any = list(self.key) if isinstance(self.key, Plural) else str(self.key)
        data = {"key": key, "values": {name: _dump(v) for name, v in self.values.items()}}
        if isinstance(self.key, InContext):
            data["context"] = self.key.context
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Text:
        raw = data["key"]
        key = Plural(*raw) if isinstance(raw, list) else str(raw)
        if isinstance(key, str) and data.get("context"):
            key = pN_(str(data["context"]), key)
        return cls(key, {name: _load(v) for name, v in dict(data.get("values", {})).items()})


def render_text(language: str, key: str | Plural, values: dict[str, Value]) -> str:
    """The text of `key` in `language` with its values put in (what `Text(key, values).render` gives,
    without making the Text: most texts are rendered at once)."""
    count = values.get("count")
    template = translate(language, key, count if isinstance(count, int) else None)
    return template.format(**{name: render_value(language, v) for name, v in values.items()})


def render_value(language: str, value: Value) -> Any:
    if type(value) is str or type(value) is int:  # most values: nothing to render
        return value
    if isinstance(value, Text):
        return value.render(language)
    if isinstance(value, When):
        return format_when(language, value.moment, value.timezone)
    if isinstance(value, Day):
        return format_day(language, value.day)
    if isinstance(value, Minutes):
        return format_minutes(language, value.count)
    if isinstance(value, list):
        return "\n".join(str(render_value(language, item)) for item in value)
    return value


def _dump(value: Value) -> Any:
    if isinstance(value, Text):
        return {"$text": value.to_json()}
    if isinstance(value, When):
        return {"$when": [value.moment.isoformat(), value.timezone]}
    if isinstance(value, Day):
        return {"$day": value.day.isoformat()}
    if isinstance(value, Minutes):
        return {"$minutes": value.count}
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


def _load(value: Any) -> Value:
    if isinstance(value, list):
        return [_load(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$text" in value:
        return Text.from_json(value["$text"])
    if "$when" in value:
        moment, zone = value["$when"]
        return When(datetime.fromisoformat(moment), zone)
    if "$day" in value:
        return Day(date.fromisoformat(value["$day"]))
    return Minutes(int(value["$minutes"]))
