"""Open Badges 3.0 credentials: signing, verification, keys and the status list.

Nothing here touches the network: JSON-LD contexts come from the package (see
:mod:`web.credentials.documents`), keys from the data directory.
"""
