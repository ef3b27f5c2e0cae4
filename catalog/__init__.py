"""The federated catalogue of trusted participants: admission, lifecycle, discovery, federation."""
