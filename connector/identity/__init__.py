"""Who this connector is (keys, certificate chain, did:web document) and how it proves it to peers."""
