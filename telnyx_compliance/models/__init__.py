"""Pydantic v2 models, one module per API group; names follow the spec's schemas and the official SDK."""

from .bundle_pricing import *  # noqa: F403
from .documents import *  # noqa: F403
from .number_orders import *  # noqa: F403
from .requirement_groups import *  # noqa: F403
from .requirements import *  # noqa: F403
from .shared import *  # noqa: F403
from .user_addresses import *  # noqa: F403
from .verified_numbers import *  # noqa: F403
