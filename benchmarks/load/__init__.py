"""`make load`: the app under gunicorn, PostgreSQL and Redis, with simulated viewers, agency leads and neighbours'
systems (Locust), stepping up the number of viewers. Not part of `make bench`: it starts a whole stack."""
