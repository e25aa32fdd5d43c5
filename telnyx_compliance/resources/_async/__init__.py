"""Hand-written async resources; ``../_sync`` is generated from these by ``scripts/unasync.py``."""

from .bundle_pricing import AsyncBillingBundlesResource, AsyncBundlePricingResource, AsyncUserBundlesResource
from .documents import AsyncDocumentLinksResource, AsyncDocumentsResource
from .number_orders import (
    AsyncNumberOrderPhoneNumbersResource,
    AsyncNumberOrdersResource,
    AsyncSubNumberOrdersResource,
)
from .requirement_groups import AsyncRequirementGroupsResource
from .requirements import (
    AsyncPhoneNumbersRegulatoryRequirementsResource,
    AsyncRegulatoryRequirementsResource,
    AsyncRequirementsResource,
    AsyncRequirementTypesResource,
)
from .user_addresses import AsyncUserAddressesResource
from .verified_numbers import AsyncActionsResource, AsyncVerifiedNumbersResource

__all__ = [
    "AsyncActionsResource",
    "AsyncBillingBundlesResource",
    "AsyncBundlePricingResource",
    "AsyncDocumentLinksResource",
    "AsyncDocumentsResource",
    "AsyncNumberOrderPhoneNumbersResource",
    "AsyncNumberOrdersResource",
    "AsyncPhoneNumbersRegulatoryRequirementsResource",
    "AsyncRegulatoryRequirementsResource",
    "AsyncRequirementGroupsResource",
    "AsyncRequirementTypesResource",
    "AsyncRequirementsResource",
    "AsyncSubNumberOrdersResource",
    "AsyncUserAddressesResource",
    "AsyncUserBundlesResource",
    "AsyncVerifiedNumbersResource",
]
