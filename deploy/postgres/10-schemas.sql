-- Runs once, when the postgres container initialises an empty data volume (the official image's
-- /docker-entrypoint-initdb.d). One schema per service, owned by the application role; each
-- service's Alembic migrations create the tables inside its own schema.
CREATE SCHEMA IF NOT EXISTS onboarding AUTHORIZATION modelbay;
CREATE SCHEMA IF NOT EXISTS catalog AUTHORIZATION modelbay;
CREATE SCHEMA IF NOT EXISTS builder AUTHORIZATION modelbay;
CREATE SCHEMA IF NOT EXISTS gateway AUTHORIZATION modelbay;
