"""Sharing with neighbouring LRFs: the token API (/api/v1/), its tokens, its OpenAPI document, and federation."""
