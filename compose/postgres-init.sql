-- One database per component (each runs its own Alembic migrations).
CREATE DATABASE provider;
CREATE DATABASE consumer;
CREATE DATABASE catalog;
