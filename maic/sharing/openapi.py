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


_QUERY = [
    _param("week_from", "First week (Monday); default the start of the shared history.", {"type": "string"}),
    _param("week_to", "Last week (Monday); default the latest week with figures.", {"type": "string"}),
    _param("area", "ONS GSS codes, comma-separated or repeated; default every shared area. "
           "The all-areas row (ALL) is always included.", {"type": "string"}),
    _param("metric", "Metric keys, comma-separated or repeated; default every shareable metric.", {"type": "string"}),
    _param("as_at", "The picture as at this UTC time (ISO 8601); no earlier than the shared history allows.",
           {"type": "string"}),
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


def document(marking: str) -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
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
                "parameters": _QUERY, "responses": {"200": _ok("SharedPicture", "The shared figures."), **_ERRORS}}},
            "/api/v1/shared.csv": {"get": {
                "summary": "The same figures as CSV (first line: the protective marking).", "operationId": "sharedCsv",
                "parameters": _QUERY, "responses": {
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
