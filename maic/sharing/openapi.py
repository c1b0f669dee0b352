"""The OpenAPI 3 document of /api/v1/, kept beside the API it describes and checked against it by schemathesis."""

from __future__ import annotations

from typing import Any

from maic.picture.shared import MEASURES

_ERROR = {"type": "object", "required": ["error", "message", "status"],
          "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"}}}
_WEEK = {"type": "string", "format": "date", "example": "2024-09-09",
         "description": "An ISO week named by its Monday (YYYY-MM-DD) or as 2024-W37."}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _listed(name: str, description: str, values: list[str]) -> dict[str, Any]:
    """A parameter that may be repeated (area=A&area=B), each value one of `values`."""
    items: dict[str, Any] = {"type": "string", "enum": values} if values else {"type": "string"}
    schema: dict[str, Any] = {"type": "array", "items": items} if values else {"type": "array", "maxItems": 0}
    return {**_param(name, description, schema), "style": "form", "explode": True}


def _query(areas: list[str], metrics: list[str], weeks: list[str]) -> list[dict[str, Any]]:
    """What the server accepts, exactly: a JSON schema cannot say 'week_from before week_to' or how far back
    as_at may go (MAIC_SHARED_HISTORY_DAYS), so those two rules are stated in words and answered with a 400."""
    week = {"type": "string", "enum": weeks} if weeks else {"type": "string", "maxLength": 0}
    return [
        _param("week_from", "First week: a Monday of the shared history (YYYY-MM-DD, or as 2024-W37); default the "
               "start of the shared history. Not after week_to.", week),
        _param("week_to", "Last week, as week_from; default the latest week with figures.", week),
        _listed("area", "ONS GSS codes of shared areas, repeated or comma-separated; default every shared area. "
                "The all-areas row (ALL) is always included.", areas),
        _listed("metric", "Shareable metric keys, repeated or comma-separated; default every shareable metric.",
                metrics),
        _param("as_at", "The picture as at this time (RFC 3339, UTC unless an offset is given); no earlier than "
               "the shared history allows (MAIC_SHARED_HISTORY_DAYS before now); a later time means now.",
               {"type": "string", "format": "date-time"}),
    ]


_ERRORS = {
    "400": {"description": "A parameter is wrong; the message names it.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "401": {"description": "No valid token.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}


def _ok(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


_REPORTING = ("how many figures the cell is made of: areas for the all-areas row (area_code ALL), weeks for an "
              "area's to_date, area-weeks for the all-areas to_date, 1 for an area's week (0: no return)")


def document(marking: str, *, areas: list[str], metrics: list[str], weeks: list[str]) -> dict[str, Any]:
    """The document for this instance: its shared area codes, shareable metric keys and the weeks of its history."""
    nullable_str = {"type": ["string", "null"]}
    query = _query(sorted(areas), sorted(metrics), weeks)
    return {
        "openapi": "3.1.0",
        "info": {"title": "MAIC common picture: shared API", "version": "1.0.0",
                 "description": f"{marking}. The figures a neighbouring LRF may see: shareable metrics, area "
                                "level, counts from 1 to threshold-1 shown as '<threshold' and further cells "
                                "withheld ('[c]') so that none can be worked out. Bearer-token auth."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/shared": {"get": {
                "summary": "The shared picture by week range and area, as JSON.", "operationId": "sharedJson",
                "parameters": query, "responses": {"200": _ok("SharedPicture", "The shared figures."), **_ERRORS}}},
            "/api/v1/shared.csv": {"get": {
                "summary": "The same figures as CSV (first line: the protective marking).", "operationId": "sharedCsv",
                "parameters": query, "responses": {
                    "200": {"description": "CSV: metric, area_code, area_name, week, measure, value, shown, status, "
                                           "partial (yes/no), reporting, expected, covers.",
                            "content": {"text/csv": {"schema": {"type": "string"}}}}, **_ERRORS}}},
            "/api/v1/metrics": {"get": {"summary": "The catalogue of shareable metrics.", "operationId": "metrics",
                                        "responses": {"200": _ok("Metrics", "Shareable metrics."),
                                                      "401": _ERRORS["401"]}}},
            "/api/v1/areas": {"get": {"summary": "The areas whose figures are shared.", "operationId": "areas",
                                      "responses": {"200": _ok("Areas", "Shared areas."), "401": _ERRORS["401"]}}},
            "/api/v1/version": {"get": {"summary": "The data version: pull again only when it moves.",
                                        "operationId": "version",
                                        "responses": {"200": _ok("Version", "The data version."),
                                                      "401": _ERRORS["401"]}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document.", "operationId": "openapi", "security": [],
                                             "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                                                   "content": {"application/json": {
                                                                       "schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "LRF": {"type": "object", "required": ["code", "name"],
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
                "Cell": {"type": "object", "additionalProperties": False,
                         "required": ["metric", "area_code", "week", "measure", "value", "shown", "status",
                                      "partial", "reporting", "expected", "covers"],
                         "properties": {
                             "metric": {"type": "string"}, "area_code": {"type": "string"}, "week": _WEEK,
                             "measure": {"type": "string", "enum": list(MEASURES)},
                             "value": {"type": ["number", "null"],
                                       "description": "null when suppressed, withheld or missing"},
                             "shown": {"type": "string"},
                             "status": {"type": "string", "enum": ["value", "suppressed", "withheld", "missing"]},
                             "partial": {"type": "boolean",
                                         "description": "true when the figure is a total that lacks some of the "
                                                        "figures it should have (an area with no return)"},
                             "reporting": {"type": "integer", "description": _REPORTING},
                             "expected": {"type": "integer", "description": "how many such figures it should have"},
                             "covers": {"type": "string",
                                        "description": "on a partial total, e.g. '5 of 6 areas'; empty otherwise"}}},
                "SharedPicture": {"type": "object", "additionalProperties": False,
                                  "required": ["marking", "lrf", "as_at", "data_version", "threshold", "latest_week",
                                               "week_from", "week_to", "cells"],
                                  "properties": {
                                      "marking": {"type": "string"}, "lrf": {"$ref": "#/components/schemas/LRF"},
                                      "as_at": {"type": "string", "format": "date-time"},
                                      "data_version": {"type": "integer"}, "threshold": {"type": "integer"},
                                      "latest_week": nullable_str, "week_from": nullable_str, "week_to": nullable_str,
                                      "cells": {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}}}},
                "Metrics": {"type": "object", "required": ["marking", "metrics"], "properties": {
                    "marking": {"type": "string"},
                    "metrics": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                "required": ["key", "label", "unit", "aggregation", "description"],
                                "properties": {"key": {"type": "string"}, "label": {"type": "string"},
                                               "unit": {"type": "string"},
                                               "aggregation": {"type": "string", "enum": ["sum", "latest"]},
                                               "description": {"type": "string"}}}}}},
                "Areas": {"type": "object", "required": ["marking", "lrf", "areas"], "properties": {
                    "marking": {"type": "string"}, "lrf": {"$ref": "#/components/schemas/LRF"},
                    "areas": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                              "required": ["code", "name", "population"],
                              "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                             "population": {"type": ["integer", "null"]}}}}}},
                "Version": {"type": "object", "additionalProperties": False, "required": ["data_version", "as_at"],
                            "properties": {"data_version": {"type": "integer"},
                                           "as_at": {"type": "string", "format": "date-time"}}},
            },
        },
    }
