"""What every contract section shares: strict, frozen models and the shape of a key."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

KEY_PATTERN = r"^[a-z][a-z0-9_-]*$"
Key = Annotated[str, Field(pattern=KEY_PATTERN, max_length=64)]


class Strict(BaseModel):
    """Base for every contract section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
