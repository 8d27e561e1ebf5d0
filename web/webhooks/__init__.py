"""Webhooks: Standard Webhooks signatures, the transactional outbox and its delivery worker."""
