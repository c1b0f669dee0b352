"""Weekly returns: parse -> validate -> (preview) -> commit; the one pipeline behind every door."""
