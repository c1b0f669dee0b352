"""Component trees built from plain data; never touches the database or the signed-in user."""
