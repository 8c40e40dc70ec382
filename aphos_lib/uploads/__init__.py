"""Uploads: files an observer sends, kept until the ingest job that stores them has run."""
