"""API resources, one module per group: ``_async`` is hand written, ``_sync`` generated from it."""

from ._async import *  # noqa: F403
from ._async import __all__ as _async_all
from ._sync import *  # noqa: F403
from ._sync import __all__ as _sync_all

__all__ = [*_async_all, *_sync_all]
