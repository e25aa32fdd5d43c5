"""The requirements catalog: ``/requirement_types``, ``/requirements``, ``/regulatory_requirements`` and
``/phone_numbers_regulatory_requirements``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..errors import error
from ..query import filter_values
from .common import ACTIONS, NUMBER_TYPES, QueryDep, StoreDep, classify
from .listing import PLAIN, QuerySpec, one_of, ops

#: ``/requirements`` (the document-requirements view) covers these number types only.
DOC_REQS_TYPES = ("local", "national", "toll_free")

REQUIREMENT_TYPES = QuerySpec(
    filters={"name": ops("contains")}, sorts=("name", "created_at", "updated_at"), default_sort="name"
)
REQUIREMENTS = QuerySpec(
    filters={
        "country_code": PLAIN,
        "phone_number_type": one_of(*DOC_REQS_TYPES),
        "action": one_of("branded_calling", "ordering", "porting"),
    },
    sorts=("created_at", "updated_at", "country_code", "phone_number_type"),
    default_sort="country_code",
)
REGULATORY_REQUIREMENTS = QuerySpec(
    filters={
        "phone_number": PLAIN,
        "requirement_group_id": PLAIN,
        "country_code": PLAIN,
        "phone_number_type": one_of(*NUMBER_TYPES),
        "action": one_of(*ACTIONS, "action"),
    }
)
NUMBER_REQUIREMENTS = QuerySpec(filters={"phone_number": PLAIN})

router = APIRouter()


@router.get("/requirement_types")
def list_requirement_types(store: StoreDep, query: QueryDep) -> Any:
    filters = REQUIREMENT_TYPES.filters_of(query)
    types = [t.as_requirement_type() for t in store.catalog.requirement_types]
    if "name" in filters:
        needle = str(
            filters["name"].get("contains", "") if isinstance(filters["name"], dict) else filters["name"]
        ).lower()
        types = [t for t in types if needle in t["name"].lower()]
    types = REQUIREMENT_TYPES.sorted(types, query)
    return {  # one page holding everything: the contract defines no paging here
        "data": types,
        "meta": {
            "page_number": 1,
            "page_size": max(1, len(types)),
            "total_pages": 1 if types else 0,
            "total_results": len(types),
        },
    }


@router.get("/requirement_types/{type_id}")
def get_requirement_type(type_id: str, store: StoreDep) -> Any:
    requirement_type = store.catalog.requirement_type(type_id)
    if requirement_type is None:
        raise error(404, f"The requested requirement type '{type_id}' does not exist.", pointer="/id")
    return {"data": requirement_type.as_requirement_type()}


@router.get("/requirements")
def list_requirements(store: StoreDep, query: QueryDep) -> Any:
    filters = REQUIREMENTS.filters_of(query)
    requirements = [r for r in store.catalog.requirements if r.phone_number_type in DOC_REQS_TYPES]
    if "country_code" in filters:
        requirements = [r for r in requirements if r.country_code == str(filters["country_code"]).upper()]
    if "phone_number_type" in filters:
        requirements = [r for r in requirements if r.phone_number_type == filters["phone_number_type"]]
    if "action" in filters:
        requirements = [r for r in requirements if r.action == filters["action"]]
    return REQUIREMENTS.page([r.as_doc_reqs_requirement() for r in requirements], query)


@router.get("/requirements/{requirement_id}")
def get_requirement(requirement_id: str, store: StoreDep) -> Any:
    requirement = store.catalog.requirement(requirement_id)
    if requirement is None or requirement.phone_number_type not in DOC_REQS_TYPES:
        raise error(404, f"The requested requirement '{requirement_id}' does not exist.", pointer="/id")
    return {"data": requirement.as_doc_reqs_requirement()}


@router.get("/regulatory_requirements")
def list_regulatory_requirements(store: StoreDep, query: QueryDep) -> Any:
    filters = REGULATORY_REQUIREMENTS.filters_of(query)
    requirements = list(store.catalog.requirements)
    if "requirement_group_id" in filters:
        requirements = [store.groups.group_requirement(str(filters["requirement_group_id"]))]
    if "phone_number" in filters:
        info = classify(str(filters["phone_number"]), "filter[phone_number]")
        requirements = [
            r
            for r in requirements
            if (r.country_code, r.phone_number_type) == (info.country_code, info.phone_number_type)
        ]
    if "country_code" in filters:
        requirements = [r for r in requirements if r.country_code == str(filters["country_code"]).upper()]
    if "phone_number_type" in filters:
        requirements = [r for r in requirements if r.phone_number_type == filters["phone_number_type"]]
    if "action" in filters:
        requirements = [r for r in requirements if r.action == filters["action"]]
    return {"data": [r.as_regulatory_requirements() for r in requirements]}


@router.get("/phone_numbers_regulatory_requirements")
def list_phone_number_requirements(store: StoreDep, query: QueryDep) -> Any:
    filters = NUMBER_REQUIREMENTS.filters_of(query)
    numbers = filter_values(filters.get("phone_number", ""))
    if not numbers:
        raise error(
            422,
            "filter[phone_number] is required: one or more E.164 numbers, comma separated.",
            parameter="filter[phone_number]",
        )
    records = []
    for number in numbers:
        info = classify(number.strip(), "filter[phone_number]")
        requirement = store.catalog.find(info.country_code, info.phone_number_type, "ordering")
        records.append(
            {
                "phone_number": info.phone_number,
                "phone_number_type": info.phone_number_type,
                "record_type": "phone_number_regulatory_requirements",
                "region_information": [{"region_type": "country_code", "region_name": info.country_code}],
                "regulatory_requirements": [
                    t.as_phone_number_requirement() for t in (requirement.types if requirement else ())
                ],
            }
        )
    return NUMBER_REQUIREMENTS.page(records, query)
