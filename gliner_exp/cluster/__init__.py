"""Multi-process training: the rank's environment, launcher argv, model preparation, sharding options."""
