"""The Litestar web service: learner pages, author pages, JSON API, storage."""
