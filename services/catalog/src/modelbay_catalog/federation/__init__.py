"""Federation, the catalog's side (docs/federation.md): peers, subscriptions, the sync loop, the
mirrored models' metadata, and the changes feed this instance offers to its own peers."""
